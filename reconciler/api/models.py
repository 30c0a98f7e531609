"""Pydantic models of every request and response schema of the Elastic Deployment API.

Field names mirror the wire format (camelCase) on purpose: these models *are* the wire contract,
and keeping the API's spelling makes a mismatch with the OpenAPI document easy to spot.
Unknown response fields are kept (``extra="allow"``) and unknown statuses parse as plain strings.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    create_model,
    field_validator,
    model_serializer,
)

from reconciler.catalog import amount
from reconciler.fields import PLAIN_FIELDS, DeploymentField, Kind


class _Request(BaseModel):
    # the spec's name pattern uses a look-ahead, which pydantic's default engine lacks
    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re", defer_build=True)

    def to_wire(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude_none=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


class KeyValuePair(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(min_length=1)
    value: str = Field(min_length=1)

    def __repr__(self) -> str:  # values may be secrets: never in reprs or tracebacks
        return f"KeyValuePair(key={self.key!r}, value=<hidden>)"


class Resource(_Request):
    region: str = Field(min_length=1)
    gpuType: str = Field(min_length=1)
    gpuCount: int


class ExposePort(_Request):
    port: int = Field(ge=1, le=65535)
    protocol: str | None = None


# \Z, not $: Python's `$` also matches before a trailing newline, so "abc\n" would pass
NAME_PATTERN = r"^(?=[A-Za-z])[A-Za-z0-9@._-]{1,50}\Z"


def _int_to_str(value: object) -> object:
    # ids are 18-digit numbers the spec types as strings, but Yotta's Java backend (and its own
    # SDK) also uses JSON integers: accept both, exactly (json parses integers without a float)
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


_credential_to_str = _int_to_str

# A worker count as the API may send it: the spec's int32, and never negative. Anything else
# (-3, 10**30) is a contract break: refused at this boundary (BadResponse naming the field),
# never planned on (a scale from -3) nor shown raw.
WorkerCount = Annotated[int, Field(ge=0, le=2**31 - 1)]


# $/h and friends: a hostile or broken value (-1000, NaN, Infinity, 1e400, "5", true) reads as
# unknown (None), as a missing one does: a negative price would hide a real one from a budget
Price = Annotated[float | None, BeforeValidator(amount)]


def _plain(f: DeploymentField, bounded: bool = False) -> object:
    """The wire type of a plain row of the field table: optional, left out when None."""
    if f.kind is not Kind.INT:
        return (str | None, None)
    if bounded and f.bounds:
        return (int | None, Field(default=None, ge=f.bounds[0], le=f.bounds[1]))
    return (int | None, None)


def _with_plain_fields(name: str, base: type[BaseModel], *, bounded: bool = False,
                       updatable_only: bool = False) -> type[BaseModel]:
    """``base`` plus an attribute for each plain row of the field table (fields.py)."""
    rows = [f for f in PLAIN_FIELDS if f.updatable or not updatable_only]
    fields: dict[str, Any] = {f.response_name: _plain(f, bounded and f.bounded_on_create)
                              for f in rows}
    return create_model(name, __base__=base, __module__=__name__, **fields)


class _UpdateCore(_Request):
    name: str = Field(min_length=1, pattern=NAME_PATTERN)
    resources: tuple[Resource, ...] = Field(min_length=1)
    workers: int = Field(ge=1)
    credentialId: str | None = None
    containerVolumeInGb: int = Field(ge=20)
    initializationCommand: str | None = None
    environmentVars: tuple[KeyValuePair, ...] | None = None
    expose: ExposePort | None = None

    _cred = field_validator("credentialId", mode="before")(_credential_to_str)


class _CreateCore(_UpdateCore):
    imageRegistry: str | None = None
    image: str = Field(min_length=1, max_length=255)
    serviceMode: str = Field(min_length=1)


if TYPE_CHECKING:  # mypy sees the hand-typed fields; the plain ones are set by name
    UpdateRequest = _UpdateCore
    CreateRequest = _CreateCore
else:
    UpdateRequest = _with_plain_fields("UpdateRequest", _UpdateCore, updatable_only=True)
    CreateRequest = _with_plain_fields("CreateRequest", _CreateCore, bounded=True)


class ScaleRequest(_Request):
    workers: int


class ResourceResponse(_Response):
    region: str | None = None
    regionDisplayName: str | None = None
    gpuType: str | None = None
    gpuDisplayName: str | None = None
    gpuCount: int | None = None
    singleCardVramInGb: int | None = None
    singleCardVcpu: int | None = None
    singleCardRamInGb: int | None = None


class ExposePortResponse(_Response):
    port: int | None = None
    protocol: str | None = None


class _ListedCore(BaseModel):
    """The part of a listed deployment a plan reads: identity, status, price and the configured
    fields (the field table's response names). Planning validates only these, item by item, and
    keeps none of the rest (other keys are ignored, not stored): at 10,000 deployments a full
    :class:`Deployment` per item cost ~4 KB each. :class:`Deployment` extends it, so both read
    a value the same way (``tests/test_fields.py``)."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    id: str
    name: str | None = None
    imageRegistry: str | None = None
    image: str | None = None
    resources: tuple[ResourceResponse, ...] = ()
    credentialId: str | None = None
    containerVolumeInGb: int | None = None
    initializationCommand: str | None = None
    environmentVars: tuple[KeyValuePair, ...] = ()
    expose: ExposePortResponse | None = None
    totalWorkers: WorkerCount | None = None
    perHourPrice: Price = None
    serviceMode: str | None = None
    status: str | None = None
    domain: str | None = None  # observed; a blue-green plan names it as the old domain

    _cred = field_validator("credentialId", mode="before")(_credential_to_str)

    _id_as_str = field_validator("id", mode="before")(_int_to_str)

    @field_validator("environmentVars", "resources", mode="before")
    @classmethod
    def _null_as_empty(cls, value: object) -> object:
        return () if value is None else value


if TYPE_CHECKING:
    ListedDeployment = _ListedCore
else:
    ListedDeployment = _with_plain_fields("ListedDeployment", _ListedCore)

# Dumps (`get -o json|yaml`) show the detail-only fields where they always stood, after these
# listed ones (a subclass's fields would otherwise come last).
_DETAIL_AFTER = {"name": ("creator", "domain"),
                 "totalWorkers": ("runningWorkers", "cost", "perSecondPrice")}


@functools.cache
def _dump_rank(model: type[BaseModel]) -> dict[str, int]:
    moved = {name for names in _DETAIL_AFTER.values() for name in names}
    order: list[str] = []
    for name in model.model_fields:
        if name not in moved:
            order += [name, *_DETAIL_AFTER.get(name, ())]
    return {name: rank for rank, name in enumerate(order)}


class Deployment(ListedDeployment):
    """``OpenapiElasticDetailResponse``: what detail and list return. The listed fields plus
    the ones only people read; unknown fields are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    creator: str | None = None
    runningWorkers: WorkerCount | None = None
    cost: Price = None
    perSecondPrice: Price = None

    @model_serializer(mode="wrap")
    def _in_shown_order(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        rank = _dump_rank(type(self))
        last = len(rank)  # unknown fields: after every declared one, as received
        return dict(sorted(data.items(), key=lambda item: rank.get(item[0], last)))


class Worker(_Response):
    """``OpenapiElasticWorkerResponse``."""

    id: str
    region: str | None = None
    regionDisplayName: str | None = None
    gpuType: str | None = None
    gpuDisplayName: str | None = None
    gpuCount: int | None = None
    singleCardVramInGb: int | None = None
    singleCardVcpu: int | None = None
    singleCardRamInGb: int | None = None
    uptime: int | None = None
    cost: float | None = None
    status: str | None = None

    _id_as_str = field_validator("id", mode="before")(_int_to_str)


class LogEntry(_Response):
    timestamp: str | None = None
    log: str | None = None
    offset: int | None = None


class LogPage(_Response):
    logs: tuple[LogEntry, ...] = ()
    hasMore: bool = False
    nextSearchAfterTime: str | None = None
    nextSearchAfterOffset: str | None = None

    _cursor = field_validator("nextSearchAfterTime", "nextSearchAfterOffset", mode="before")(
        _int_to_str)

    @field_validator("logs", mode="before")
    @classmethod
    def _null_as_empty(cls, value: object) -> object:
        return () if value is None else value


class GpuRegion(_Response):
    """One region of ``GET /v2/vms/types``: may a GPU of this type be had there now?"""

    region: str
    regionName: str | None = None
    available: bool | None = None  # None: not said (then no create is called at risk)
    vmTypeId: int | None = None


class GpuType(_Response):
    """``VMType`` of ``GET /v2/vms/types``: a GPU type and its availability per region."""

    gpuType: str
    regions: tuple[GpuRegion, ...] = ()

    @field_validator("regions", mode="before")
    @classmethod
    def _null_as_empty(cls, value: object) -> object:
        if isinstance(value, list):  # a plain region name (as the SDK's own tests mock it)
            return [{"region": r} if isinstance(r, str) else r for r in value]
        return () if value is None else value
