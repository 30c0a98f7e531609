"""Fold a journal left by an interrupted run back into the state, against ONE list call.

Only two operations can leave the state wrong about identity, so only they need repair:
  * create: it may have happened although no outcome was recorded (or the state write after
    it was lost). A live deployment with that name that the state does not know is adopted;
    if there is none, nothing is recorded and the next plan creates it: never a duplicate.
  * delete: if the recorded id is gone live, the entry is dropped (else it would look
    "deleted outside yottactl" and be re-created).
  * an update to a temporary name (one side of a swap of names): if the deployment now carries
    it, the entry records it as its live name, so the next plan renames it on, as planned
    (never drift "renamed outside yottactl").
  * a blue-green rollout's create (its intent names the rollout name): a live deployment with
    that name the state does not know becomes the entry's ``rollout_green``, so the next plan
    carries the rollout on (or deletes it) instead of leaving it unreported; a rollout's delete
    of its old or new deployment clears ``rollout_retiring`` / ``rollout_green``.
Everything else (stop, start, scale, update) is re-derived from live by the next plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reconciler.api.client import YottaClient
from reconciler.api.models import Deployment
from reconciler.ops import Op
from reconciler.plan.normalize import Essence, Fingerprinter
from reconciler.state.model import State, StateEntry
from reconciler.state.protocol import Backend
from reconciler.state.records import IntentRecord, JournalRecord, OutcomeRecord, StateRecord, now_iso


@dataclass
class Recovery:
    adopted: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    pending: int = 0
    replayed: int = 0
    touched: list[str] = field(default_factory=list)  # an API call was started for these

    @property
    def messages(self) -> list[str]:
        out = [f"recovered: {n} was created by an interrupted run; recorded in the state"
               for n in self.adopted]
        out += [f"recovered: {n} was deleted by an interrupted run; removed from the state"
                for n in self.forgotten]
        return out


def _replay_one(state: State, record: StateRecord) -> State:
    return (state.without(record.deployment) if record.entry is None
            else state.with_entry(record.deployment, record.entry))


def replay(state: State | None, records: Sequence[JournalRecord]) -> State | None:
    """The state with the journal's state records applied, in memory (read-only commands)."""
    for record in records:
        if isinstance(record, StateRecord):
            state = _replay_one(state or State.empty(), record)
    return state


def fold(state: State, records: Sequence[JournalRecord], list_live: Callable[[], list[Deployment]],
         fp: Fingerprinter) -> tuple[State, Recovery]:
    """The state an interrupted run's journal leads to (pure but for ``list_live``, called
    once and only if a create or delete may be unresolved)."""
    report = Recovery()
    # state records are replayed in order; intents for create/delete are resolved via list
    creates: dict[str, IntentRecord] = {}
    deletes: dict[str, str] = {}
    temporary: dict[str, IntentRecord] = {}
    for record in records:
        if isinstance(record, StateRecord):  # write-ahead log: replay onto the checkpoint
            state = _replay_one(state, record)
            report.replayed += 1
        elif isinstance(record, IntentRecord):
            report.pending += 1
            if record.deployment not in report.touched:
                report.touched.append(record.deployment)
            if record.op is Op.CREATE:
                creates[record.deployment] = record
            elif record.op is Op.DELETE and record.id:
                deletes[record.deployment] = record.id
            elif record.op is Op.UPDATE and record.name and record.id:
                temporary[record.deployment] = record
        elif isinstance(record, OutcomeRecord):
            report.pending -= 1
    if not (creates or deletes or temporary):
        return state, report
    live = list_live()
    live_ids = {d.id for d in live}
    live_names = {d.id: d.name for d in live}
    for name, intent in temporary.items():
        entry = state.deployments.get(name)
        if entry is not None and entry.id == intent.id and live_names.get(entry.id) == intent.name:
            state = state.with_entry(name, entry.model_copy(update={"renamed_from": intent.name}))
    for name, dep_id in deletes.items():
        entry = state.deployments.get(name)
        if entry is not None and entry.id == dep_id and dep_id not in live_ids:
            state = state.without(name)
            report.forgotten.append(name)
        elif entry is not None and dep_id not in live_ids and dep_id in (
                entry.rollout_green, entry.rollout_retiring):  # a rollout's other deployment
            state = state.with_entry(name, entry.model_copy(update={
                "rollout_retiring": None if entry.rollout_retiring == dep_id
                else entry.rollout_retiring,
                "rollout_green": None if entry.rollout_green == dep_id else entry.rollout_green}))
    known = {i for e in state.deployments.values()
             for i in (e.id, e.rollout_green, e.rollout_retiring) if i}
    for name, intent in creates.items():
        entry = state.deployments.get(name)
        if intent.name and entry is not None:  # a rollout's new deployment (green)
            green = [d for d in live if d.name == intent.name and d.id not in known]
            if len(green) == 1 and entry.id in live_ids:
                state = state.with_entry(name, entry.model_copy(
                    update={"rollout_green": green[0].id, "updated_at": now_iso()}))
                report.adopted.append(name)
            continue
        if entry is not None and entry.id in live_ids:
            continue  # the state already knows the result
        found = [d for d in live if d.name == name and d.id not in known]
        if len(found) != 1:
            continue
        spec = intent.spec or Essence()
        stamp = now_iso()
        state = state.with_entry(name, StateEntry(
            id=found[0].id, spec=spec, sensitive=intent.sensitive, fingerprint=fp.obj(spec),
            status=found[0].status, desired_state=intent.desired_state,
            prevent_destroy=intent.prevent_destroy, ignore_changes=intent.ignore_changes,
            created_at=stamp, updated_at=stamp))
        report.adopted.append(name)
    return state, report


def recover(store: Backend, state: State, client: YottaClient, fp: Fingerprinter) -> tuple[State, Recovery]:
    records = store.journal_records()
    if not records:
        return state, Recovery()
    state, report = fold(state, records, client.list, fp)
    state = store.write(state)
    store.clear_journal()
    return state, report
