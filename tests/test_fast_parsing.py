"""The fast readers beside their reference: pydantic-core reads the state file and the API's
answers straight from the bytes; the standard library reads whatever they refuse. Same result,
same errors (differential tests)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from reconciler.api.envelope import unwrap
from reconciler.errors import StateError
from reconciler.essence import Essence
from reconciler.redact import Secrets
from reconciler.state.files import parse_state
from reconciler.state.model import State, StateEntry

ESSENCE = Essence.model_validate({
    "image": "vllm/vllm-openai:v0.6.3", "serviceMode": "ALB", "workers": 2,
    "resources": [{"region": "us-east-1", "gpuType": "NVIDIA_H100_80G", "gpuCount": 1}],
    "expose": {"port": 8000}, "environmentVars": {"MODEL": "llama é \u0000 \"q\"", "K": "v"},
    "minSingleCardVcpu": 4, "webhookUrl": "https://hooks.example.com/x"})
STATE = State.empty().model_copy(update={"serial": 7, "key_verifier": "abc", "deployments": {
    "web": StateEntry(id="361530338086227968", spec=ESSENCE, sensitive=("environmentVars.K",),
                      fingerprint="f" * 32, status="RUNNING", ignore_changes=("workers",),
                      prevent_destroy=True, renamed_from="old"),
    "bare": StateEntry(id="1")}})


def _reference(text: str) -> State:
    return State.model_validate(json.loads(text))


@pytest.mark.parametrize("text", [
    STATE.model_dump_json(), STATE.model_dump_json(indent=1), json.dumps(
        STATE.model_dump(mode="json"), ensure_ascii=True),
    # duplicate keys: the last one wins in both readers
    STATE.model_dump_json()[:-1] + ', "serial": 9}',
], ids=["compact", "indented", "ascii", "duplicate-key"])
def test_a_state_reads_the_same_as_through_the_standard_library(text: str) -> None:
    assert parse_state(text, "s.json", "") == _reference(text)


@pytest.mark.parametrize("text,words", [
    ("{", "is not valid JSON (line 1)"),
    ('{"format_version": 3, "lineage": "x", "new": 1}', "has format_version 3, a newer format"),
    ('{"format_version": 1, "lineage": "x", "serial": "many"}', "is malformed"),
    ('\ufeff{"format_version": 1, "lineage": "x"}', "is not valid JSON"),
], ids=["truncated", "newer-version", "wrong-type", "bom"])
def test_a_bad_state_is_refused_with_the_reference_reader_s_words(text: str, words: str) -> None:
    with pytest.raises(StateError, match=re.escape(words)):
        parse_state(text, "s.json", "")


def _answer(content: bytes) -> Any:
    response = httpx.Response(200, content=content, headers={"Content-Type": "application/json"})
    return unwrap(response, operation="list", deployment=None, secrets=Secrets())


@pytest.mark.parametrize("data", [
    '[{"id": 361530338086227968123, "name": "big int"}]',
    '[{"id": "1", "name": "lone \\ud800 surrogate"}]',  # pydantic-core refuses: json reads it
    '[{"id": "1", "cost": NaN, "name": "x", "name": "last wins"}]',
    '[{"id": "1", "name": "\\u001b]0;evil\\u0007"}]',
    'null', '"text"', '[1e400, -0.0, 5e-324]',
])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
def test_an_answer_reads_the_same_as_through_the_standard_library(data: str, bom: bytes) -> None:
    body = bom + f'{{"code": 10000, "message": "ok", "data": {data}}}'.encode()
    expected = json.loads(body)["data"]
    got = _answer(body)
    assert json.dumps(got) == json.dumps(expected)  # NaN-safe equality
