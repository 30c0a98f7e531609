"""A run whose PostgreSQL lock session ended (network, server restart, pg_terminate_backend)
notices it at its next journal or state write and stops clearly, instead of going on with API
calls while another run may hold the lock (fencing only guarded the state writes)."""

from __future__ import annotations

import pytest
from test_state_postgres import sql

from reconciler.errors import StateError
from reconciler.state.backend import open_backend
from reconciler.state.model import State, StateEntry
from reconciler.state.records import IntentRecord

LOCKS_HERE = ("FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
              "(SELECT oid FROM pg_database WHERE datname = current_database())")


def _intent(name: str) -> IntentRecord:
    return IntentRecord(deployment=name, op="create", spec={"image": "img:1"})


def _end_lock_sessions(url: str) -> int:
    """pg_terminate_backend on the sessions holding an advisory lock in this test's database."""
    rows = sql(url, f"SELECT pg_terminate_backend(pid) {LOCKS_HERE}")
    return sum(1 for (ended,) in rows if ended)


def test_a_holder_that_lost_its_lock_session_writes_nothing_more(pg_state: str) -> None:
    runner, other = open_backend(pg_state), open_backend(pg_state)
    try:
        base = runner.write(State.empty().with_entry("a", StateEntry(id="1")))
        with runner.locked("yottactl apply (lost)"):
            runner.journal(_intent("first"))  # precondition: writes work while it holds it
            assert [r.deployment for r in runner.journal_records()] == ["first"]
            assert _end_lock_sessions(pg_state) == 1
            with pytest.raises(StateError, match="lost its state lock") as lost:
                runner.journal(_intent("second"))
            assert "run the command again" in (lost.value.hint or "")
            with pytest.raises(StateError, match="lost its state lock"):
                runner.write(base.with_entry("b", StateEntry(id="2")))
            with other.locked("yottactl apply (next)"):  # the lock is free: another run takes it
                other.journal(_intent("next"))
                with pytest.raises(StateError, match="lost its state lock"):
                    runner.journal(_intent("third"))  # not even now that someone holds it
        assert [r.deployment for r in other.journal_records()] == ["first", "next"]
        assert sql(pg_state, "SELECT serial FROM yottactl_state_versions") == [(base.serial,)]
    finally:
        runner.close()
        other.close()


def test_writes_without_a_lock_and_under_a_held_one_are_unchanged(pg_state: str) -> None:
    backend = open_backend(pg_state)
    try:
        first = backend.write(State.empty())  # no lock taken: state migrate, tests
        with backend.locked("yottactl apply"):
            backend.journal(_intent("x"))
            second = backend.write(first)
        assert second.serial == first.serial + 1
        assert [r.deployment for r in backend.journal_records()] == ["x"]
    finally:
        backend.close()
