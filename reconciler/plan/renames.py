"""Order the steps that give deployments names, so that no name is ever live twice
(ARCHITECTURE.md §3). Pure: works on the planned changes and the live names.

A step that gives a deployment a name (a rename's update, a create or a replace's create) waits
(``Step.after``) for every other planned change whose deployment carries that name live to let
go of it: a rename away (its first update) or a delete. A swap or a cycle of renames would wait
on itself: one rename of each cycle first moves its deployment to a temporary name, which
releases its old name at once; its final rename then waits like any other.

A name carried live by a deployment this plan does not move away is refused: renaming onto it
would make two deployments of one name.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from reconciler.plan.live import LiveDeployment
from reconciler.plan.model import Action, Change, Diagnostic, DiagnosticCode, Op, Step, error
from reconciler.plan.rollout import is_slot
from reconciler.state.model import State

# + the deployment's id in base 36 (an 18-digit id: 12 characters): a unique name that fits
# both APIs' rules, v2's 20 characters included. Names written by older versions
# (yottactl-tmp-ID) are read back from the journal and state, never parsed.
TEMPORARY_PREFIX = "yt-tmp-"
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def temporary_name(dep_id: str) -> str:
    if not dep_id.isdigit() or not dep_id.isascii():
        return f"{TEMPORARY_PREFIX}{dep_id}"
    number, digits = int(dep_id), ""
    while True:
        number, rest = divmod(number, 36)
        digits = _DIGITS[rest] + digits
        if not number:
            return f"{TEMPORARY_PREFIX}{digits}"


def is_rename(change: Change) -> bool:
    """Its update gives the deployment another name. A deployment living under its rollout
    name (``NAME@alt``) is not renamed by an update: both slots are NAME (plan/rollout.py)."""
    return change.live_name is not None and change.action is not Action.DELETE \
        and not is_slot(change.name, change.live_name) \
        and any(s.op is Op.UPDATE for s in change.steps)


def release_index(change: Change) -> int | None:
    """Index of the step after which the change's deployment no longer carries the name it
    carries live (``Change.holds``): a rename's first update, or a delete. None: it keeps it."""
    if change.holds is None:
        return None
    for i, step in enumerate(change.steps):
        if step.op is Op.DELETE or (step.op is Op.UPDATE and is_rename(change)):
            return i
    return None


def take_index(change: Change) -> int | None:
    """Index of the step that gives the deployment ``change.name``: a create, or a rename's
    (last) update."""
    found = None
    for i, step in enumerate(change.steps):
        if step.op is Op.CREATE or (step.op is Op.UPDATE and is_rename(change)):
            found = i
    return found


def order(changes: Sequence[Change], live_by_name: Mapping[str, Sequence[LiveDeployment]],
          diagnostics: list[Diagnostic]) -> list[Change]:
    """``changes`` with ``after`` set on the steps that take a name (and swaps and cycles
    broken by a temporary name); an error in ``diagnostics`` for each rename onto a name
    that a deployment keeps live (that change is left out, as for any planner error)."""
    releasers: dict[str, list[Change]] = {}
    for change in changes:
        if change.holds is not None and release_index(change) is not None:
            releasers.setdefault(change.holds, []).append(change)
    waits: dict[str, tuple[str, ...]] = {}
    refused: set[str] = set()
    for change in changes:
        if take_index(change) is None:
            continue
        blockers = [c for c in releasers.get(change.name, []) if c.name != change.name]
        covered = {c.id for c in blockers} | {change.id}
        others = sorted(d.id for d in live_by_name.get(change.name, ()) if d.id not in covered)
        if others and is_rename(change):
            refused.add(change.name)
            diagnostics.append(error(
                DiagnosticCode.NAME_LIVE_ELSEWHERE, change.name,
                f"renaming {change.id} to this name would make a second live deployment of "
                f"it: {', '.join(others)} carries it and this plan does not move it away",
                "rename or delete that deployment first (or include its change with --target)"))
            continue
        if blockers:
            waits[change.name] = tuple(sorted(c.name for c in blockers))
    by_name = {c.name: c for c in changes if c.name not in refused}
    breakers = _cycle_breakers(by_name, waits)
    out: list[Change] = []
    for change in changes:
        if change.name in refused:
            continue
        after = waits.get(change.name, ())
        if not after and change.name not in breakers:
            out.append(change)
            continue
        steps = list(change.steps)
        take = take_index(change)
        assert take is not None
        steps[take] = steps[take].model_copy(update={"after": after})
        if change.name in breakers:  # let go of the old name first, under a temporary one
            assert change.id is not None
            steps.insert(take, Step(op=Op.UPDATE, name=temporary_name(change.id)))
        out.append(change.model_copy(update={"steps": tuple(steps)}))
    return out


def _cycle_breakers(by_name: Mapping[str, Change], waits: Mapping[str, tuple[str, ...]]
                    ) -> set[str]:
    """One rename of each cycle of renames waiting on each other (the first name of each).

    Only renames can wait on themselves: their one update both takes the new name and
    releases the old one (a delete releases without waiting). Each name has one taker, so a
    rename is waited on by at most one other: cycles are disjoint rings, one per back edge of
    a depth-first walk."""
    def waits_on(name: str) -> list[str]:
        return [b for b in waits.get(name, ()) if b in by_name and is_rename(by_name[b])]

    breakers: set[str] = set()
    seen: dict[str, int] = {}  # 1: on the walk's stack, 2: finished
    for root in sorted(n for n in by_name if is_rename(by_name[n])):
        if root in seen:
            continue
        stack: list[tuple[str, list[str]]] = [(root, waits_on(root))]
        seen[root] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                seen[node] = 2
                stack.pop()
                continue
            nxt = todo.pop()
            if seen.get(nxt) == 1:  # back edge: the ring from nxt to node
                ring = [n for n, _ in stack[[n for n, _ in stack].index(nxt):]]
                breakers.add(min(ring))
            elif nxt not in seen:
                seen[nxt] = 1
                stack.append((nxt, waits_on(nxt)))
    return breakers


def rekeyed(desired: Collection[str], live_by_id: Mapping[str, LiveDeployment],
            state: State) -> dict[str, str]:
    """Desired name -> the state name whose entry it takes over. Ids are stable, names are
    not: an entry whose id is live under a desired name, while the entry's own name is in no
    manifest, IS that deployment (a state restored from before `state mv`, or a rename done
    both in the console and in the manifest). Only when the desired name has no entry of its
    own that is live, and only one entry's id carries it."""
    claims: dict[str, list[str]] = {}
    for old, entry in state.deployments.items():
        live = live_by_id.get(entry.id)
        if live is None or live.name is None or live.name == old or old in desired:
            continue
        own = state.deployments.get(live.name)
        if live.name in desired and (own is None or own.id not in live_by_id):
            claims.setdefault(live.name, []).append(old)
    return {new: olds[0] for new, olds in claims.items() if len(olds) == 1}
