"""Fold a journal left by an interrupted run back into the state, against ONE list call.

Only two operations can leave the state wrong about identity, so only they need repair:
  * create: it may have happened although no outcome was recorded (or the state write after
    it was lost). A live deployment with that name that the state does not know is adopted;
    if there is none, nothing is recorded and the next plan creates it: never a duplicate.
  * delete: if the recorded id is gone live, the entry is dropped (else it would look
    "deleted outside yottactl" and be re-created).
Everything else (stop, start, scale, update) is re-derived from live by the next plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.api.client import YottaClient
from reconciler.plan.normalize import Essence, Fingerprinter
from reconciler.state.backend import StateFile, now_iso
from reconciler.state.model import State, StateEntry


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


def _replay_one(state: State, name: str, entry: Any) -> State:
    return state.without(name) if entry is None else state.with_entry(
        name, StateEntry.model_validate(entry))


def replay(state: State | None, records: list[dict[str, Any]]) -> State | None:
    """The state with the journal's state records applied, in memory (read-only commands)."""
    for record in records:
        name = record.get("deployment")
        if record.get("phase") == "state" and isinstance(name, str):
            state = _replay_one(state or State.empty(), name, record.get("entry"))
    return state


def recover(store: StateFile, state: State, client: YottaClient, fp: Fingerprinter) -> tuple[State, Recovery]:
    records = store.journal_records()
    report = Recovery()
    if not records:
        return state, report
    # state records are replayed in order; intents for create/delete are resolved via list
    creates: dict[str, dict[str, Any]] = {}
    deletes: dict[str, str] = {}
    for record in records:
        name, op = record.get("deployment"), record.get("op")
        if not isinstance(name, str):
            continue
        if record.get("phase") == "state":  # write-ahead log: replay onto the checkpoint
            state = _replay_one(state, name, record.get("entry"))
            report.replayed += 1
        elif record.get("phase") == "intent":
            report.pending += 1
            if name not in report.touched:
                report.touched.append(name)
            if op == "create":
                creates[name] = record
            elif op == "delete" and record.get("id"):
                deletes[name] = str(record["id"])
        elif record.get("phase") == "outcome":
            report.pending -= 1
    if creates or deletes:
        live = client.list()
        live_ids = {d.id for d in live}
        for name, dep_id in deletes.items():
            entry = state.deployments.get(name)
            if entry is not None and entry.id == dep_id and dep_id not in live_ids:
                state = state.without(name)
                report.forgotten.append(name)
        known = {e.id for e in state.deployments.values()}
        for name, intent in creates.items():
            entry = state.deployments.get(name)
            if entry is not None and entry.id in live_ids:
                continue  # the state already knows the result
            found = [d for d in live if d.name == name and d.id not in known]
            if len(found) != 1:
                continue
            spec = Essence.model_validate(intent.get("spec") or {})
            stamp = now_iso()
            state = state.with_entry(name, StateEntry(
                id=found[0].id, spec=spec, sensitive=tuple(intent.get("sensitive") or ()),
                fingerprint=fp.obj(spec), status=found[0].status,
                desired_state=str(intent.get("desired_state") or "running"),
                prevent_destroy=bool(intent.get("prevent_destroy")),
                ignore_changes=tuple(intent.get("ignore_changes") or ()),
                created_at=stamp, updated_at=stamp))
            report.adopted.append(name)
    state = store.write(state)
    store.clear_journal()
    return state, report
