"""The deployment field table: every configured field of an Elastic Deployment, declared once.

The manifest model (``manifest/schema.py``), the API request models (``api/models.py``), the
essence (``plan/normalize.py``), the request builders (``apply/requests.py``) and the exporter
(``export.py``) are derived from this table or checked against it (``tests/test_fields.py``).
Adding an API field = one row here + the typed attribute in the models + its manifest docs.

Row order is the essence's key order, which is also the order of ``spec`` in plan and state
files: append new fields at the end so existing files stay byte-identical.
Pure: no imports beyond the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(str, Enum):
    """How a field's value is normalised into the essence (equal means equal)."""

    TEXT = "text"  # str; None and "" are the same (essence: "")
    OPTIONAL_TEXT = "optional-text"  # str or None; "" is None
    REGISTRY = "registry"  # image registry URL: default filled in, trailing "/" dropped
    INT = "int"  # int (or None when optional)
    RESOURCES = "resources"  # [{region, gpuType, gpuCount}], sorted
    EXPOSE = "expose"  # {port, protocol} with protocol upper-cased, or None
    ENV = "env"  # {key: value}, order-free


@dataclass(frozen=True)
class DeploymentField:
    """One configured field. ``name`` is the manifest key, the request key and the essence key."""

    name: str
    kind: Kind
    required: bool  # must the manifest give it?
    updatable: bool  # carried by the update request (changed in place, while STOPPED)
    live_name: str = ""  # the detail response's key when it differs (workers -> totalWorkers)
    secret_capable: bool = False  # may hold a value interpolated from the environment
    compared: bool = True  # a difference makes a change (and drift)

    @property
    def replaces(self) -> bool:
        """Not in the update request: changing it forces a replacement (new id and domain)."""
        return not self.updatable

    @property
    def response_name(self) -> str:
        return self.live_name or self.name


FIELDS: tuple[DeploymentField, ...] = (
    DeploymentField("image", Kind.TEXT, required=True, updatable=False, secret_capable=True),
    DeploymentField("imageRegistry", Kind.REGISTRY, required=False, updatable=False,
                    secret_capable=True),
    DeploymentField("serviceMode", Kind.TEXT, required=True, updatable=False),
    DeploymentField("credentialId", Kind.OPTIONAL_TEXT, required=False, updatable=True,
                    secret_capable=True),
    DeploymentField("resources", Kind.RESOURCES, required=True, updatable=True),
    DeploymentField("workers", Kind.INT, required=True, updatable=True, live_name="totalWorkers"),
    DeploymentField("containerVolumeInGb", Kind.INT, required=True, updatable=True),
    DeploymentField("expose", Kind.EXPOSE, required=False, updatable=True),
    DeploymentField("initializationCommand", Kind.TEXT, required=False, updatable=True,
                    secret_capable=True),
    DeploymentField("environmentVars", Kind.ENV, required=False, updatable=True,
                    secret_capable=True),
    DeploymentField("minSingleCardVramInGb", Kind.INT, required=False, updatable=True),
    DeploymentField("minSingleCardVcpu", Kind.INT, required=False, updatable=True),
    DeploymentField("minSingleCardRamInGb", Kind.INT, required=False, updatable=True),
    DeploymentField("webhookUrl", Kind.TEXT, required=False, updatable=True, secret_capable=True),
)

BY_NAME: dict[str, DeploymentField] = {f.name: f for f in FIELDS}
NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
REPLACE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.replaces)
UPDATE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.updatable)
# Spec keys that are not API fields: where the deployment should be (running or stopped).
MANIFEST_ONLY = ("state",)


def request_keeps(f: DeploymentField, value: object) -> bool:
    """Does a create/update body carry this field? Optional fields are left out when empty."""
    return f.required or f.kind is Kind.ENV or value not in (None, "")
