"""What a state backend is: a versioned store, a lock, a journal. The file and the PostgreSQL
backends implement these three parts; commands only ever see a :class:`Backend`.

Rules every backend keeps (tests/test_state_contract.py checks both against them):
  * ``write(state)`` stores serial ``state.serial + 1`` only if the stored state is still
    ``state.serial`` of the same lineage (a fenced write); otherwise StateError, nothing lost.
  * ``put(state)`` (migration) stores a state exactly as given, only into an empty store unless forced.
  * the lock is held for a whole run and freed when its holder ends, however it ends.
  * journal records come back in the order they were appended, until ``clear``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from reconciler.state.model import State
from reconciler.state.records import JournalRecord

Warn = Callable[[str], None]


@dataclass(frozen=True)
class LockInfo:
    """Who holds (or held) a lock. Never contains a password or a secret."""

    id: str
    pid: int | None = None
    host: str = ""
    user: str = ""
    command: str = ""
    started: str = ""

    def who(self) -> str:
        return (f"pid {self.pid} on {self.host} ({self.user}), running `{self.command}` "
                f"since {self.started}")


@dataclass(frozen=True)
class Version:
    """One stored version of a state, for `state history`."""

    serial: int
    lineage: str
    written_at: str = ""
    written_by: str = ""
    command: str = ""
    changes: str = ""


class StateStore(Protocol):
    def read(self) -> State | None: ...

    def write(self, state: State) -> State: ...

    def put(self, state: State, *, force: bool = False) -> None: ...

    def history(self, limit: int) -> list[Version]: ...

    def version(self, serial: int) -> State | None: ...


class Journal(Protocol):
    def append(self, record: JournalRecord) -> None: ...

    def records(self) -> list[JournalRecord]: ...

    def clear(self) -> None: ...


class StateLock(Protocol):
    def locked(self, command: str, timeout: float = 0.0,
               warn: Warn | None = None) -> AbstractContextManager[str]: ...

    def force_unlock(self, lock_id: str, force: bool = False) -> LockInfo: ...


class Backend:
    """A store, a journal and a lock for one state, behind the names commands use."""

    def __init__(self, location: str, store: StateStore, journal: Journal, lock: StateLock) -> None:
        self.location = location  # printable: a path, or a URL without its password
        self.store, self.journal_log, self.lock = store, journal, lock

    def read(self) -> State | None:
        return self.store.read()

    def write(self, state: State) -> State:
        return self.store.write(state)

    def put(self, state: State, *, force: bool = False) -> None:
        self.store.put(state, force=force)

    def history(self, limit: int = 20) -> list[Version]:
        return self.store.history(limit)

    def version(self, serial: int) -> State | None:
        return self.store.version(serial)

    def journal(self, record: JournalRecord) -> None:
        self.journal_log.append(record)

    def journal_records(self) -> list[JournalRecord]:
        return self.journal_log.records()

    def read_with_journal(self) -> tuple[State | None, list[JournalRecord]]:
        """The state and its journal, as one read (PostgreSQL: one round trip)."""
        return self.read(), self.journal_records()

    def clear_journal(self) -> None:
        self.journal_log.clear()

    def locked(self, command: str, timeout: float = 0.0,
               warn: Warn | None = None) -> AbstractContextManager[str]:
        return self.lock.locked(command, timeout, warn)

    def force_unlock(self, lock_id: str, force: bool = False) -> LockInfo:
        return self.lock.force_unlock(lock_id, force)

    def close(self) -> None:
        """Release connections (nothing for files)."""

    def still_locked(self) -> bool:
        """This run's lock is still held (a file lock cannot be lost; a database session can)."""
        return True

    def holder(self) -> LockInfo | None:
        """Who holds the lock now, as far as the backend can tell (None: unknown or nobody)."""
        return None

    def note_in_history(self, note: str) -> None:
        """Text appended to this run's command in the versions it writes from now on (the
        agent's source commit); backends that keep no command per version ignore it."""

    def other_states(self) -> list[str]:
        """Where the other states of this store are (names of a database's states, state
        files beside this one), for "did you mean" when this one does not exist yet."""
        return []


def changes_between(before: State | None, after: State) -> str:
    """`+added ~changed -removed` deployment names, for history."""
    old = before.deployments if before else {}
    new = after.deployments
    parts = [f"+{n}" for n in sorted(set(new) - set(old))]
    parts += [f"~{n}" for n in sorted(set(new) & set(old)) if new[n] != old[n]]
    parts += [f"-{n}" for n in sorted(set(old) - set(new))]
    # --policy-override records this version added, first: they must survive the cut below
    known = set(before.policy_overrides) if before else set()
    parts[:0] = [f"override {o.rule} by {o.by}" for o in after.policy_overrides if o not in known]
    text = " ".join(parts)
    return text if len(text) <= 200 else text[:197] + "..."
