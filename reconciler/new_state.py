"""A state that does not exist yet: a first run, or not the state the user meant (a mistyped
``?state=NAME``, yottactl run from a folder without the project file). Plans say so and name
the states that do exist; an apply that would adopt live deployments into it needs the user's
explicit word (``--adopt``), since adopting takes over what another state may manage."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.errors import StateError

if TYPE_CHECKING:
    from reconciler.plan.model import Diagnostic, Plan
    from reconciler.settings import Settings
    from reconciler.state.model import State
    from reconciler.state.protocol import Backend


def adoptions(state: State | None, the_plan: Plan) -> list[str]:
    """Names ``the_plan`` adopts into a state that does not exist yet (nothing: no question)."""
    if state is not None:
        return []
    return [c.name for c in the_plan.pending if c.adopt]


def missing(settings: Settings, store: Backend) -> tuple[str, str]:
    """Where the state that does not exist would be (``store``, the command's backend), and a
    hint naming the states that do (did you mean?), for the commands that read it: plan, apply,
    drift, `state list`."""
    from reconciler.state.backend import is_postgres_url

    try:
        others = store.other_states()
    except StateError:  # a courtesy: the caller itself read the (missing) state fine
        others = []
    database = is_postgres_url(settings.state_path or "")
    return store.location, _did_you_mean(settings, store.location, others, database)


def notice(settings: Settings, store: Backend, the_plan: Plan) -> Diagnostic:
    """The plan's warning that its state does not exist yet, with the states that do."""
    from reconciler.plan.model import DiagnosticCode, warning

    location, did_you_mean = missing(settings, store)
    adopting = adoptions(None, the_plan)
    message = f"the state {location} does not exist yet: this run starts a new, empty one"
    if adopting:
        shown = ", ".join(adopting[:5]) + (", …" if len(adopting) > 5 else "")
        message += (f", and adopts {len(adopting)} live deployment(s) already carrying the "
                    f"manifests' names ({shown}) instead of creating them")
    hints = [did_you_mean]
    if adopting:
        hints.append("`apply` asks to confirm the adoption (in a pipeline: --adopt with "
                     "--auto-approve)")
    return warning(DiagnosticCode.NEW_STATE, None, message, "; ".join(h for h in hints if h))


def _did_you_mean(settings: Settings, location: str, others: list[str], database: bool) -> str:
    if database:
        from reconciler.state.pg_connection import split_url

        name = split_url(settings.state_path or "")[1]
        if not others:
            return "this database holds no other state"
        close = difflib.get_close_matches(name, others, n=1, cutoff=0.5)
        listed = f"this database holds the states {', '.join(repr(o) for o in others)}"
        return (f"did you mean ?state={close[0]}? " if close else "") + listed
    if others:
        here = Path(location).name
        close = difflib.get_close_matches(here, [Path(o).name for o in others], n=1, cutoff=0.5)
        listed = f"state files beside it: {', '.join(others)}"
        return (f"did you mean {close[0]}? " if close else "") + listed
    if settings.inputs.context.project is None and not settings.state_path:  # the default path
        return ("no yottactl.yaml was found here or above: run from the project's folder, or "
                "pass --project FILE or --state")
    return ""
