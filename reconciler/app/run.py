"""One run of a command that changes deployments (`apply` and its `--plan`, `--refresh-only`
and `--replace`, `destroy`, `restart`, `delete-unmanaged`), from start to end:

    with Run(settings, lock_timeout=..., warn=...) as run:
        planned = run.plan(NewPlan(paths))      # lock, recover, plan
        ...the command shows planned.plan and asks...
        planned = run.confirmed(planned)        # the lock, if the plan was made before it
        outcome = run.execute(planned, options, on_event, stop)

The run owns the command's one API client and one state backend (a :class:`Session`) and the
state lock, and releases all three when the ``with`` block ends, on error or Ctrl-C too. It
neither prints nor prompts: warnings go to ``warn``, the plan and the outcome are returned.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reconciler.app.apply import ApplyOptions, Outcome, Recovered, execute, recover_state
from reconciler.app.session import Session
from reconciler.settings import Settings

if TYPE_CHECKING:
    from reconciler.apply.events import Event
    from reconciler.essence import Essence
    from reconciler.plan.model import Plan
    from reconciler.policy.report import PolicyReport
    from reconciler.state.model import State

Warn = Callable[[str], None]


@dataclass(frozen=True)
class NewPlan:
    """`apply [PATH...]`: plan from the manifests (``replace``: `--replace NAME`)."""

    paths: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    allow_mass_delete: bool = False
    replace: tuple[str, ...] = ()
    overrides: frozenset[str] = frozenset()  # --policy-override: rules passed for this run
    require_capacity: bool = False  # v2: new workers where none show available: an error


@dataclass(frozen=True)
class SavedPlan:
    """`apply --plan FILE`: exactly the plan `plan --out FILE` saved, if it is not stale."""

    file: str
    overrides: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RefreshOnly:
    """`apply --refresh-only`: record live values in the state, change nothing live."""

    targets: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class DestroyPlan:
    """`destroy [PATH...]`: delete what the state manages (or what those manifests name)."""

    paths: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    overrides: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RestartPlan:
    """`restart NAME...`: stop and start running managed deployments."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class DeleteUnmanagedPlan:
    """`delete-unmanaged ID...`: delete live deployments no state entry maps."""

    ids: tuple[str, ...]


Wanted = NewPlan | SavedPlan | RefreshOnly | DestroyPlan | RestartPlan | DeleteUnmanagedPlan

# apply's plans against a state that does not exist yet are made (and confirmed) before the
# lock is taken: a refusal ("nothing was changed") leaves no lock file nor folder behind
_BEFORE_THE_LOCK = (NewPlan, SavedPlan, RefreshOnly)


@dataclass(frozen=True)
class Planned:
    """A plan to show, confirm and run, and the state it was made against."""

    wanted: Wanted
    plan: Plan
    recovered: Recovered
    essences: Mapping[str, Essence] = field(default_factory=dict)  # real values: never shown
    locked: bool = True  # made under the state lock
    policy: PolicyReport | None = None  # the project's policies against it, overrides applied

    @property
    def state(self) -> State | None:
        return self.recovered.state

    @property
    def touched(self) -> tuple[str, ...]:
        """Deployments an interrupted run left in transition: the run waits for them too."""
        return self.recovered.touched

    def worth_running(self, waits: bool = True) -> bool:
        """Changes to make, or (``waits``: the run waits for what it touched) deployments an
        interrupted run left in transition to wait for."""
        return self.plan.has_changes or (bool(self.touched) and waits)

    @property
    def adopting(self) -> list[str]:
        """Live deployments this plan adopts into a state that does not exist yet."""
        from reconciler.new_state import adoptions

        return adoptions(self.state, self.plan)


class Run(Session):
    """Open the backend, lock, recover, plan, execute, close (module docstring)."""

    def __init__(self, settings: Settings, *, lock_timeout: float = 0.0,
                 warn: Warn = lambda _: None) -> None:
        super().__init__(settings)
        self.lock_timeout = lock_timeout
        self.warn = warn
        self._lock = contextlib.ExitStack()
        self._locked = False

    def plan(self, wanted: Wanted) -> Planned:
        """The plan ``wanted`` asks for, made under the lock after an interrupted run's journal
        is folded in; for apply against nothing stored yet, made before the lock."""
        if isinstance(wanted, _BEFORE_THE_LOCK) and self._nothing_stored():
            return self._make(wanted, Recovered(None), locked=False)
        self._take_lock()
        return self._make(wanted, recover_state(self, self.warn), locked=True)

    def confirmed(self, planned: Planned) -> Planned:
        """``planned``, now under the lock; if a state was written meanwhile by another run
        (the plan was made before the lock, against nothing), a new plan against that state,
        to be shown and confirmed again."""
        if planned.locked:
            return planned
        self._take_lock()
        if self._nothing_stored():
            return dataclasses.replace(planned, locked=True)
        self.warn(f"the state {self.store.location} was written by another run while this one "
                  "was planned: planning again against it (the plan above is not applied)")
        return self._make(planned.wanted, recover_state(self, self.warn), locked=True)

    def execute(self, planned: Planned, options: ApplyOptions,
                on_event: Callable[[Event], None], stop: threading.Event) -> Outcome:
        """Run ``planned`` (confirmed) with the executor: journalled, recorded in the state
        with the policy overrides it used."""
        from reconciler.app.policy import record_overrides

        if not planned.locked:
            raise RuntimeError("execute() needs the lock: pass the plan through confirmed()")
        options = dataclasses.replace(options, settle=planned.touched)
        state = (record_overrides(planned.state, planned.policy) if planned.plan.has_changes
                 else planned.state)
        return execute(self, state, planned.plan, planned.essences, options, on_event, stop)

    def close(self) -> None:
        try:
            self._lock.close()  # the lock first: a database lock needs its connection
        finally:
            self._locked = False
            super().close()

    def _take_lock(self) -> None:
        from reconciler.state.backend import command_line

        if not self._locked:
            self._lock.enter_context(self.store.locked(command_line(), self.lock_timeout,
                                                       warn=self.warn))
            self._locked = True

    def _nothing_stored(self) -> bool:
        """Neither a state nor an interrupted run's journal (read without the lock, as plan
        does)."""
        state, records = self.store.read_with_journal()
        return state is None and not records

    def _make(self, wanted: Wanted, recovered: Recovered, *, locked: bool) -> Planned:
        from reconciler.app.apply import desired_essences, refresh, saved_plan
        from reconciler.app.plan import build_plan
        from reconciler.app.policy import overriding

        state = recovered.state
        essences: Mapping[str, Essence] = {}
        policy = None
        if isinstance(wanted, NewPlan):
            made = build_plan(self.settings, wanted.paths, targets=wanted.targets,
                              allow_mass_delete=wanted.allow_mass_delete, state=state,
                              replace=wanted.replace, confirm_settled=True,
                              capacity="require" if wanted.require_capacity else "warn",
                              session=self)
            the_plan, essences = made.plan, desired_essences(made)
            policy = overriding(made.policy, wanted.overrides)
        elif isinstance(wanted, SavedPlan):
            the_plan, checked = saved_plan(self, wanted.file, state)
            policy = overriding(checked, wanted.overrides)
        elif isinstance(wanted, RefreshOnly):  # records live values: no change to check
            the_plan = refresh(self, state, wanted.targets, wanted.paths)
        elif isinstance(wanted, DestroyPlan):
            made = build_plan(self.settings, wanted.paths or None, targets=wanted.targets,
                              destroying=True, state=state, session=self)
            the_plan, policy = made.plan, overriding(made.policy, wanted.overrides)
        elif isinstance(wanted, RestartPlan):
            from reconciler.plan.restart import plan_restart

            the_plan = plan_restart(wanted.names, self.client.list(), state)
        else:
            from reconciler.app.cleanup import delete_unmanaged_plan

            the_plan = delete_unmanaged_plan(self, wanted.ids, state)
        return Planned(wanted, the_plan, recovered, essences, locked, policy)
