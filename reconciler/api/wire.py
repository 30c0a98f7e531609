"""The two transports of one client interface: how each operation is sent to the v1 or the v2
API, and how a v2 answer is read back into the v1 models (``api/models.py``) everything else
uses (docs/API-V2.md). The field names come from the field table (``fields.py``).

The planner, executor, state and commands never see which one is in use: only
:class:`reconciler.api.client.YottaClient` holds a :class:`Wire`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from reconciler.api import facts
from reconciler.fields import FIELDS, V1, V2, V2_EPOCH_MS_KEYS, V2_WORKER_ID, request_keeps

# a query: (name, value) pairs (a name may repeat) or a mapping
Params = Sequence[tuple[str, str]] | Mapping[str, str] | None


@dataclass(frozen=True)
class Route:
    """One request: method, path under the base URL, query and JSON body."""

    method: str
    path: str
    params: Params = None
    json: Mapping[str, object] | None = None
    # a path every endpoint of the version serves: its HTTP 404 means the endpoint does not
    # speak that version (nothing was deleted), and this is the hint then
    unserved: str = ""


def _other_version(version: str) -> str:
    other = V1 if version == V2 else V2
    return (f"this endpoint does not serve API {version}; if it speaks {other}, try "
            f"--api-version {other} (and check `api:` in yottactl.yaml and YOTTA_API_VERSION), "
            "else check the endpoint (YOTTA_API_URL / --endpoint)")


class Wire:
    """v1: ``/openapi/v1/elastic/deploy/...``; the request and answer shapes of ``api/models.py``."""

    version = V1
    prefix = facts.API_PREFIX

    def create(self, body: Mapping[str, object]) -> Route:
        return Route("POST", f"{self.prefix}/create", json=body)

    def update(self, dep_id: int, body: Mapping[str, object]) -> Route:
        return Route("POST", f"{self.prefix}/{dep_id}/update", json=body)

    def stop(self, dep_id: int) -> Route:
        return Route("POST", f"{self.prefix}/{dep_id}/stop")

    def start(self, dep_id: int) -> Route:
        return Route("POST", f"{self.prefix}/{dep_id}/start")

    def scale(self, dep_id: int, workers: int) -> Route:
        return Route("POST", f"{self.prefix}/{dep_id}/workers", json={"workers": workers})

    def delete(self, dep_id: int) -> Route:
        return Route("DELETE", f"{self.prefix}/{dep_id}")

    def detail(self, dep_id: int) -> Route:
        return Route("GET", f"{self.prefix}/{dep_id}")

    def list(self, status: Sequence[str] = ()) -> Route:
        return Route("GET", f"{self.prefix}/list", params=self._statuses(status),
                     unserved=_other_version(self.version))

    @staticmethod
    def vm_types() -> Route:  # v2's endpoint, whichever version manages the deployments
        return Route("GET", facts.VM_TYPES_PATH, unserved=(
            f"this endpoint does not serve API v2 (GET {facts.VM_TYPES_PATH}), which GPU "
            "capacity and `catalog refresh` need; check the endpoint (YOTTA_API_URL / "
            "--endpoint), or under API v1 plan without --require-capacity"))

    def workers(self, dep_id: int, status: Sequence[str] = ()) -> Route:
        return Route("GET", f"{self.prefix}/{dep_id}/workers", params=self._statuses(status))

    def logs(self, dep_id: int, worker_id: int, params: Mapping[str, str]) -> Route:
        return Route("GET", f"{self.prefix}/{dep_id}/workers/{worker_id}/logs", params=params)

    @staticmethod
    def _statuses(status: Sequence[str]) -> Params:
        return [("statusList", s) for s in status] or None

    # answers, as the v1 models read them
    def deployment(self, data: object) -> object:
        return data

    def worker(self, data: object) -> object:
        return data

    def log_page(self, data: object) -> object:
        return data


class WireV2(Wire):
    """v2: ``/v2/serverless/...`` as Yotta's ``yottaml`` 0.2.0 SDK sends it. Update is PATCH,
    where a field left out is kept and a field sent as null is cleared; scale is
    ``PUT .../workers?count=N`` (the SDK's form; the docs disagree, docs/API-V2.md)."""

    version = V2
    prefix = facts.API_V2_PREFIX

    def create(self, body: Mapping[str, object]) -> Route:
        return Route("POST", self.prefix, json=_renamed(body, creating=True))

    def update(self, dep_id: int, body: Mapping[str, object]) -> Route:
        return Route("PATCH", f"{self.prefix}/{dep_id}", json=_patch(body))

    def scale(self, dep_id: int, workers: int) -> Route:
        return Route("PUT", f"{self.prefix}/{dep_id}/workers", params={"count": str(workers)})

    def list(self, status: Sequence[str] = ()) -> Route:
        return Route("GET", self.prefix, params=self._statuses(status),
                     unserved=_other_version(self.version))

    @staticmethod
    def _statuses(status: Sequence[str]) -> Params:
        return {"statusList": ",".join(status)} if status else None  # comma-separated in v2

    def deployment(self, data: object) -> object:
        if not isinstance(data, dict):
            return data  # the model check names what is wrong
        out = _times(data)
        for f in FIELDS:
            for alias in f.v2_response:
                if alias in out:
                    value = out.pop(alias)
                    out.setdefault(f.response_name, value)
        return out

    def worker(self, data: object) -> object:
        if not isinstance(data, dict):
            return data
        out = _times(data)
        if V2_WORKER_ID in out:
            out.setdefault("id", out.pop(V2_WORKER_ID))
        return out

    def log_page(self, data: object) -> object:
        if not isinstance(data, dict) or not isinstance(data.get("logs"), list):
            return data
        # the cursor (nextSearchAfterTime) is sent back as received: only the lines' times
        return {**data, "logs": [_times(line) if isinstance(line, dict) else line
                                 for line in data["logs"]]}


def _renamed(body: Mapping[str, object], *, creating: bool) -> dict[str, object]:
    """A v1-shaped request body with the v2 names of the field table."""
    out: dict[str, object] = {}
    for key, value in body.items():
        row = _ROWS.get(key)
        wire_key = row.wire_name(V2, creating=creating) if row else key
        if key == "credentialId" and isinstance(value, str) and value.isdigit():
            value = int(value)  # v2 takes the credential id as an integer (v1: a string)
        out[wire_key] = value
    return out


def _patch(body: Mapping[str, object]) -> dict[str, object]:
    """The v2 PATCH body of a v1-shaped update: every updatable field the v1 body leaves out
    (empty: ``request_keeps``) is sent as null, since a PATCH keeps what it does not name;
    v1's update replaces them all, and the plan means the same thing in both."""
    out = _renamed(body, creating=False)
    for f in FIELDS:
        if f.updatable and f.name not in body and not request_keeps(f, None):
            out[f.wire_name(V2, creating=False)] = None
    return out


def _times(data: Mapping[str, object]) -> dict[str, object]:
    """v2's epoch-millisecond times as v1's ISO 8601 text (UTC, milliseconds)."""
    out = dict(data)
    for key in V2_EPOCH_MS_KEYS:
        value = out.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53:
            moment = datetime.fromtimestamp(value / 1000, tz=timezone.utc)
            out[key] = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value % 1000:03d}Z"
    return out


_ROWS = {f.name: f for f in FIELDS}
WIRES: dict[str, type[Wire]] = {V1: Wire, V2: WireV2}


def wire_for(version: str) -> Wire:
    return WIRES[version]()
