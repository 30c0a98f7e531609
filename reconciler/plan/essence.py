"""The essence: a deployment's configured fields, normalised so that equal means equal.

A frozen pydantic model (not a ``dict[str, Any]``), so mypy checks every use in the planner,
the executor, the plan file and the state. Its attributes are the field table's rows
(``reconciler/fields.py``; ``tests/test_fields.py`` keeps them in step) in the table's order,
which makes its JSON the same bytes the earlier dict-shaped essence produced.
Pure: no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from reconciler.fields import PLAIN_FIELDS, DeploymentField, Kind


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ResourceEssence(_Frozen):
    # a manifest always gives all three; a live object may leave any out
    region: str | None = None
    gpuType: str | None = None
    gpuCount: int | None = None


class ExposeEssence(_Frozen):
    port: int
    protocol: str = "HTTP"


class _EssenceCore(_Frozen):
    """The hand-typed fields; the table's plain rows are added by :data:`Essence`'s base."""

    image: str = ""
    imageRegistry: str = ""
    serviceMode: str = ""
    credentialId: str | None = None
    resources: tuple[ResourceEssence, ...] = ()
    workers: int | None = None
    containerVolumeInGb: int | None = None
    expose: ExposeEssence | None = None
    initializationCommand: str = ""
    environmentVars: dict[str, str] = Field(default_factory=dict)


def _plain_field(f: DeploymentField) -> object:
    # normalised: a missing number is None, a missing text is "" (None and "" are the same)
    return (int | None, None) if f.kind is Kind.INT else (str, "")


if TYPE_CHECKING:  # mypy sees the hand-typed fields; the plain ones are read by name
    _EssenceFields = _EssenceCore
else:
    _EssenceFields = create_model("_EssenceFields", __base__=_EssenceCore,
                                  **{f.name: _plain_field(f) for f in PLAIN_FIELDS})


class Essence(_EssenceFields):
    """Configured fields only: observed ones (running workers, cost, domain) never appear."""

    def plain(self) -> dict[str, Any]:
        """JSON-shaped dict (lists, not tuples): for diffs, request bodies and fingerprints."""
        return self.model_dump(mode="json")

    def top_level(self, name: str) -> object:
        """The value of field ``name`` (None for a name that is not a field)."""
        return getattr(self, name, None) if name in type(self).model_fields else None
