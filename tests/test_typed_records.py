"""Journal records name their operation with ``Op`` (issue 24): a journal written before that
(``op`` was a plain string) reads back typed, and is written again byte for byte."""

from __future__ import annotations

import json

import pytest

from reconciler.ops import Op
from reconciler.state.records import IntentRecord, OutcomeRecord, parse_record, record_json

# lines as a yottactl with `op: str` wrote them (an interrupted run's journal)
WRITTEN_BEFORE = [
    '{"time":"2026-01-01T00:00:00.000000Z","deployment":"web","phase":"intent","op":"create",'
    '"id":null,"plan":"abc","spec":null,"sensitive":[],"desired_state":"running",'
    '"prevent_destroy":false,"ignore_changes":[]}',
    '{"time":"2026-01-01T00:00:01.000000Z","deployment":"web","phase":"intent","op":"update",'
    '"id":"42","name":"web-tmp","plan":"abc","spec":null,"sensitive":[],'
    '"desired_state":"running","prevent_destroy":false,"ignore_changes":[]}',
    '{"time":"2026-01-01T00:00:02.000000Z","deployment":"web","phase":"outcome","op":"cutover",'
    '"id":"43","plan":"","ok":false,"error":"the cutover command exited 3","code":null}',
]


@pytest.mark.parametrize("line", WRITTEN_BEFORE)
def test_a_journal_written_before_reads_typed_and_writes_the_same_bytes(line: str) -> None:
    record = parse_record(json.loads(line))
    assert isinstance(record, (IntentRecord, OutcomeRecord))
    assert record.op is Op(json.loads(line)["op"])  # the enum member, not a string
    assert record_json(record) == line


def test_an_operation_that_does_not_exist_is_not_a_record() -> None:
    bad = json.loads(WRITTEN_BEFORE[0]) | {"op": "teleport"}
    with pytest.raises(ValueError):
        parse_record(bad)
