"""The essence: a deployment's configured fields, normalised so that equal means equal.

Typed (not a ``dict[str, Any]``), so mypy checks every use in the planner, the executor, the
plan file and the state. Its attributes are the field table's rows (``reconciler/fields.py``;
``tests/test_fields.py`` keeps them in step) in the table's order, which makes its JSON the same
bytes the earlier dict-shaped essence produced. The table's plain rows are derived (no
hand-written attribute); mypy sees the hand-typed ones, the plain ones are read by name.

Frozen pydantic *dataclasses* with ``__slots__``, not ``BaseModel``s: a plan holds up to three
essences per deployment (manifest, live, state), and a BaseModel's per-instance ``__dict__`` and
fields-set cost ~2.3 KB each against ~0.4 KB here (~55 MB at 10,000 deployments). Pydantic
still validates them (:meth:`Essence.model_validate`, :meth:`Essence.model_copy`, as a field of
the state and plan models) and serialises them exactly as before.
Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar, cast

from pydantic import ConfigDict, Field, TypeAdapter
from pydantic.dataclasses import dataclass

from reconciler.fields import PLAIN_FIELDS, WRITTEN_WHEN_UNSET, Kind

_FORBID = ConfigDict(extra="forbid")
T = TypeVar("T")


def trusted(cls: type[T], values: Mapping[str, object]) -> T:
    """An instance of the essence dataclass ``cls`` holding ``values`` (every field, each of
    its field's type), built without validation: see :meth:`Essence.from_valid`."""
    new = object.__new__(cls)
    for name, put in _SETTERS[cls]:
        put(new, values[name])
    return new


def _setters_of(cls: type) -> tuple[tuple[str, Callable[[object, object], None]], ...]:
    """(field, its slot's setter) for each field of the essence dataclass ``cls`` (kept in
    _SETTERS, made at import): a slot's own setter fills a frozen instance at half the cost of
    object.__setattr__ by name."""
    return tuple((name, getattr(cls, name).__set__)
                 for name in cls.__dataclass_fields__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True, config=_FORBID)
class ResourceEssence:
    # a manifest always gives all three; a live object may leave any out
    region: str | None = None
    gpuType: str | None = None
    gpuCount: int | None = None


@dataclass(frozen=True, slots=True, config=_FORBID)
class ExposeEssence:
    port: int
    protocol: str = "HTTP"


class _Methods:
    __slots__ = ()

    @classmethod
    def model_validate(cls, data: object) -> Essence:
        """From its JSON-shaped dict (as :meth:`plain` makes it), validated (by the adapter's
        core validator: its Python wrapper, with no options to pass, is a call per essence)."""
        return cast("Essence", _adapter().validator.validate_python(data))

    @classmethod
    def from_valid(cls, values: Mapping[str, object]) -> Essence:
        """From a value of each field's own type, read off an already validated manifest or API
        model (plan/normalize.py), *without* validating it again: planning builds two essences
        per deployment, and validating them cost ~40% of that. Anything else goes through
        :meth:`model_validate` (``tests/test_essence_from_valid.py`` holds the two equal)."""
        return cast("Essence", trusted(cls, values))

    def model_copy(self, *, update: Mapping[str, object]) -> Essence:
        """A copy with the fields in ``update`` replaced (validated)."""
        return dataclasses.replace(cast("Essence", self), **update)

    def with_values(self, **update: object) -> Essence:
        """A copy with fields replaced *without* validation, for values of the field's own type
        only (a fingerprint for a text, a dict of texts for ``environmentVars``): the planner
        masks each deployment's essences, and validating every copy cost ~25% of a plan."""
        new = object.__new__(type(self))
        for name, put in _SETTERS[type(self)]:
            put(new, update[name] if name in update else getattr(self, name))
        return cast("Essence", new)

    def plain(self) -> dict[str, object]:
        """JSON-shaped dict (lists, not tuples) of every field, unset ones included: for diffs,
        request bodies and the exporter."""
        out = self.stored()
        if len(out) != len(FIELD_NAMES):  # unset fields of rows added since (not written)
            out = {name: out[name] if name in out else _UNSET[name] for name in FIELD_NAMES}
        return out

    def stored(self) -> dict[str, object]:
        """What state and plan files hold, and fingerprints are taken of: :meth:`plain`
        without the unset fields of rows added after ``fields.WRITTEN_WHEN_UNSET``."""
        out: dict[str, object] = _adapter().dump_python(cast("Essence", self), mode="json")
        return out

    def top_level(self, name: str) -> object:
        """The value of field ``name`` (None for a name that is not a field)."""
        return getattr(self, name) if name in FIELD_NAMES else None


class _EssenceCore(_Methods):
    """The hand-typed fields (the essence's first ones); plain rows follow."""

    image: str = ""
    imageRegistry: str = ""
    serviceMode: str = ""
    credentialId: str | None = None
    resources: tuple[ResourceEssence, ...] = ()
    workers: int | None = None
    containerVolumeInGb: int | None = None
    expose: ExposeEssence | None = None
    initializationCommand: str = ""
    environmentVars: dict[str, str] = dataclasses.field(default_factory=dict)


# the value of each plain row's field when unset, as plain() shows it
_UNSET: dict[str, str | None] = {}


def _is_unset(value: object) -> bool:
    return value is None or value == ""


def _derived() -> type:
    """Essence: the core's fields, then one per plain row of the table, as one slotted class."""
    annotations: dict[str, object] = dict(_EssenceCore.__annotations__)
    namespace: dict[str, object] = {name: vars(_EssenceCore)[name] for name in annotations}
    for f in PLAIN_FIELDS:
        # normalised: a missing number is None, a missing text is "" (None and "" are the same)
        annotations[f.name] = "int | None" if f.kind is Kind.INT else "str"
        namespace[f.name] = _UNSET[f.name] = None if f.kind is Kind.INT else ""
        if f.name not in WRITTEN_WHEN_UNSET:  # a row added since: written only when set
            namespace[f.name] = Field(default=_UNSET[f.name], exclude_if=_is_unset)
    namespace.update(__annotations__=annotations, __module__=__name__, __qualname__="Essence",
                     __doc__="Configured fields only: observed ones (running workers, cost, "
                             "domain) never appear.")
    return dataclass(frozen=True, slots=True, config=_FORBID)(type("Essence", (_Methods,),
                                                                     namespace))


if TYPE_CHECKING:
    @dataclass(frozen=True, slots=True, config=_FORBID)
    class Essence(_EssenceCore):
        """Configured fields only: observed ones (running workers, cost, domain) never appear."""
else:
    Essence = _derived()


@functools.cache
def _adapter() -> TypeAdapter[Essence]:
    return TypeAdapter(Essence)


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Essence))
_SETTERS: dict[type, tuple[tuple[str, Callable[[object, object], None]], ...]] = {
    cls: _setters_of(cls) for cls in (Essence, ResourceEssence, ExposeEssence)}
