"""`wait` (kubectl's `rollout status`): one list call per poll. `restart` runs as any change
does, through :class:`reconciler.app.run.Run` (``RestartPlan``)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.app.session import Session
from reconciler.errors import UsageError, YottactlError
from reconciler.settings import Settings

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class WaitLine:
    """Something worth a line: ``name`` reached the target, or (while waiting) its state
    changed or the heartbeat is due."""

    name: str
    reached: bool
    description: str  # reconciler.report.observe.WaitState.describe(): API text, cleaned by the renderer
    elapsed: float


def wait_for(settings: Settings, names: Sequence[str], target: str, timeout: float,
             heartbeat: float) -> Iterator[WaitLine]:
    """Poll until every deployment in ``names`` reached ``target`` (running, stopped, deleted);
    raise when one FAILED or ``timeout`` seconds passed."""
    from reconciler.report.observe import WaitTarget, wait_state

    with Session(settings) as session:
        client = session.client
        ids = _ids(session, names, target)
        started = time.monotonic()
        deadline = started + timeout
        delay, last_line = 0.05, dict.fromkeys(names, started)
        seen: dict[str, tuple[object, ...]] = {}
        pending = list(names)
        reached_once: set[str] = set()
        while pending:
            live = {d.id: d for d in client.list()}
            now = time.monotonic()
            for name in list(pending):
                dep_id = ids[name]
                dep = live.get(dep_id) if dep_id else None
                state = wait_state(dep, WaitTarget(target))
                if not state.reached:
                    reached_once.discard(name)
                if state.reached and (target == "deleted" or name in reached_once):
                    yield WaitLine(name, True, state.describe(), now - started)
                    pending.remove(name)
                elif state.reached:  # as apply does: a status must hold for a second poll
                    reached_once.add(name)
                elif state.failed:
                    raise YottactlError(f"{name} ended {state.describe()} while waiting for "
                                        f"{target}", hint=f"see why with `yottactl logs {name}`")
                elif seen.get(name) != state.key() or now - last_line[name] >= heartbeat:
                    seen[name], last_line[name] = state.key(), now
                    yield WaitLine(name, False, state.describe(), now - started)
            if not pending:
                return
            if now > deadline:
                raise YottactlError(f"timed out after {timeout:g}s waiting for "
                                    f"{', '.join(pending)} to be {target}",
                                    hint=f"look at `yottactl logs {pending[0]}` and `yottactl "
                                         f"workers {pending[0]}`")
            time.sleep(min(delay, max(0.0, deadline - now)))  # poll interval, not a test sleep
            delay = min(delay * 1.5, 2.0)


def _ids(session: Session, names: Sequence[str],
         target: str) -> dict[str, str | None]:
    """Managed names by the state's id; others by their live name (one list call)."""
    from reconciler.app.observe import resolve

    client = session.client
    state = session.store.read()
    managed = state.deployments if state else {}
    out: dict[str, str | None] = {}
    for name in names:
        if name in managed:
            out[name] = managed[name].id
        elif target == "deleted":
            live = [d for d in client.list() if d.name == name or d.id == name]
            out[name] = live[0].id if len(live) == 1 else None
            if len(live) > 1:
                raise UsageError(f"{len(live)} live deployments are named {name!r}",
                                 hint="pass the id instead of the name")
        else:
            out[name] = resolve(client, name).id
    return out
