"""One contract, both state backends: the file and a real PostgreSQL run these tests unchanged."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler.api.models import Deployment
from reconciler.apply.recovery import fold
from reconciler.errors import LockHeld, StateError
from reconciler.plan.normalize import Fingerprinter
from reconciler.state.backend import open_backend
from reconciler.state.model import State, StateEntry
from reconciler.state.protocol import Backend
from reconciler.state.records import IntentRecord, OutcomeRecord, StateRecord

Open = Callable[[], Backend]


@pytest.fixture(params=["file", "postgres"])
def open_state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Open]:
    """Opens the same state again on each call: two calls are two runners."""
    location = (str(tmp_path / "state" / "s.json") if request.param == "file"
                else request.getfixturevalue("pg_state"))
    opened: list[Backend] = []

    def open_() -> Backend:
        opened.append(open_backend(location))
        return opened[-1]

    yield open_
    for backend in opened:
        backend.close()


def entry(i: int) -> StateEntry:
    return StateEntry(id=str(10**17 + i), spec={"image": "img:1", "workers": i}, status="RUNNING")


def test_no_state_then_versions_with_increasing_serials(open_state: Open) -> None:
    store = open_state()
    assert store.read() is None
    first = store.write(State.empty().with_entry("a", entry(1)))
    second = store.write(first.with_entry("b", entry(2)))
    assert (first.serial, second.serial) == (1, 2)
    again = open_state().read()
    assert again == second and again is not None and set(again.deployments) == {"a", "b"}
    history = open_state().history(10)
    assert [v.serial for v in history][:2] == [2, 1] and history[0].lineage == second.lineage
    assert "+b" in history[0].changes
    assert open_state().version(1) == first


def test_fenced_write_two_runners_read_the_same_serial(open_state: Open) -> None:
    """Both read serial N and journal their work (as the executor does before a checkpoint);
    the first write wins, the second is refused with a message that says what happened, and
    neither the winner's version nor the loser's journal is lost."""
    base = open_state().write(State.empty().with_entry("a", entry(1)))
    one, two = open_state(), open_state()
    seen_one, seen_two = one.read(), two.read()
    assert seen_one == seen_two == base
    assert seen_one is not None and seen_two is not None
    done_one, done_two = (StateRecord(deployment="b", entry=entry(2)),
                          StateRecord(deployment="c", entry=entry(3)))
    one.journal(done_one)
    two.journal(done_two)
    won = one.write(seen_one.with_entry("b", entry(2)))
    with pytest.raises(StateError, match="changed since this run read it") as refused:
        two.write(seen_two.with_entry("c", entry(3)))
    message = refused.value.summary
    assert f"serial {won.serial}" in message and f"this run has lineage {base.lineage} serial " \
        f"{base.serial}" in message, message  # which version it had, which one is stored
    assert "nothing was overwritten" in refused.value.detail
    assert "journal" in refused.value.detail and "run the command again" in refused.value.hint
    assert open_state().read() == won  # nothing lost: the winner's version stands
    kept = open_state().journal_records()  # and the refused run's work is still recorded
    assert kept == [done_one, done_two], kept


def test_a_state_of_another_lineage_is_never_written_over(open_state: Open) -> None:
    open_state().write(State.empty().with_entry("a", entry(1)))
    stranger = State.empty().with_entry("x", entry(9)).model_copy(update={"serial": 1})
    with pytest.raises(StateError, match="changed since this run read it"):
        open_state().write(stranger)
    current = open_state().read()
    assert current is not None and set(current.deployments) == {"a"}


def test_put_keeps_lineage_and_serial_and_refuses_a_held_state(open_state: Open) -> None:
    copied = State.empty().with_entry("a", entry(1)).model_copy(update={"serial": 41})
    open_state().put(copied)
    assert open_state().read() == copied
    with pytest.raises(StateError, match="already holds a state"):
        open_state().put(State.empty())
    open_state().put(State.empty(copied.lineage), force=True)
    assert open_state().read() == State.empty(copied.lineage)


def test_journal_keeps_typed_records_in_order_until_cleared(open_state: Open) -> None:
    store = open_state()
    store.write(State.empty())
    written = [IntentRecord(deployment="a", op="create", spec={"image": "img:1"}, sensitive=("x",)),
               OutcomeRecord(deployment="a", op="create", id="1", ok=True),
               StateRecord(deployment="a", entry=entry(1)), StateRecord(deployment="b")]
    for record in written:
        store.journal(record)
    recovering = open_state()  # the next run: reads (folds) the journal, then clears it
    assert recovering.journal_records() == written
    recovering.clear_journal()
    assert open_state().journal_records() == []


def test_one_lock_holder_at_a_time_and_the_message_names_it(open_state: Open) -> None:
    holder = open_state()
    with holder.locked("yottactl apply (first runner)") as lock_id:
        assert lock_id
        with pytest.raises(LockHeld, match="first runner") as held, \
                open_state().locked("yottactl apply (second)"):
            pass
        assert lock_id in held.value.detail and "force-unlock" not in held.value.hint
    with open_state().locked("yottactl apply (after release)"):
        pass


def test_lock_timeout_waits_for_the_holder(open_state: Open) -> None:
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with open_state().locked("yottactl apply (holder)"):
            locked.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert locked.wait(30)
        with pytest.raises(LockHeld), open_state().locked("yottactl apply (impatient)", timeout=0):
            pass
        threading.Timer(0.3, release.set).start()
        with open_state().locked("yottactl apply (patient)", timeout=30):
            assert release.is_set()  # it got the lock only after the holder let go
    finally:
        release.set()
        thread.join()


def test_recovery_folds_a_journal_the_same_way(open_state: Open) -> None:
    """An interrupted run: a create whose answer was lost, a delete that happened."""
    store = open_state()
    base = store.write(State.empty().with_entry("gone", entry(1)))
    store.journal(IntentRecord(deployment="new", op="create", spec={"image": "img:2"}))
    store.journal(IntentRecord(deployment="gone", op="delete", id=entry(1).id))
    store.journal(StateRecord(deployment="kept", entry=entry(3)))
    live = [Deployment.model_validate({"id": "555", "name": "new", "status": "INITIALIZING"})]
    calls: list[int] = []

    def list_live() -> list[Deployment]:
        calls.append(1)
        return live

    folded, report = fold(base, open_state().journal_records(), list_live, Fingerprinter(b"k"))
    assert calls == [1] and report.adopted == ["new"] and report.forgotten == ["gone"]
    assert {n: e.id for n, e in folded.deployments.items()} == {"new": "555", "kept": entry(3).id}
    assert folded.deployments["new"].spec.image == "img:2"
