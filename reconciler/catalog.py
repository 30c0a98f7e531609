"""Known GPU types, regions and prices: ``data/catalog.json``, extended or overridden by a user
catalog file (docs/ARCHITECTURE.md §1), whose entries override built-in ones field by field.

No authoritative list is published and the real API is the final judge, so a new GPU type or
region must not need a yottactl release: a user catalog (``YOTTACTL_CATALOG``, or the project
file's setting) adds or replaces entries, and ``--allow-unknown-gpu`` lets an unknown GPU type
through with a warning. Each command has its own :class:`Catalog`.

User catalog format (JSON or YAML), every part optional::

    gpuTypes:
      NVIDIA_H100_80GB_HBM3_80G: {displayName: "NVIDIA H100 80GB HBM3", pricePerHour: 2.1}
    regions:
      eu-north-2: "EU (Stockholm) 2"
    storagePricePerGbHour: 0.0001
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from reconciler.errors import UsageError


class Catalog:
    """One command's catalog: the built-in GPU types, regions and prices, extended by the user
    catalog file at ``path`` (read on first use), and whether GPU types missing from it pass
    (``--allow-unknown-gpu``), remembering those that did for the command's closing warning.

    Made once per command (the CLI keeps it on the command's click context) and carried to
    manifest and project-file validation (pydantic's validation context), the planner's price
    estimates and the editor schema: nothing of it outlives the command.
    """

    def __init__(self, path: str | None = None, *, allow_unknown_gpu: bool = False) -> None:
        self.path = path or None
        self.allow_unknown_gpu = allow_unknown_gpu
        self._unknown_allowed: set[str] = set()
        self._data: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"Catalog(path={self.path!r}, allow_unknown_gpu={self.allow_unknown_gpu})"

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            data = builtin()
            if self.path:
                user = _load_user(self.path)
                data["gpuTypes"] = {**data["gpuTypes"], **{  # field by field over a built-in
                    name: {**_NO_DETAILS, "displayName": name, **data["gpuTypes"].get(name, {}),
                           **entry} for name, entry in user["gpuTypes"].items()}}
                data["regions"] = {**data["regions"], **user["regions"]}
                if "storagePricePerGbHour" in user:
                    data["storagePricePerGbHour"] = user["storagePricePerGbHour"]
            self._data = data
        return self._data

    @property
    def gpu_types(self) -> dict[str, dict[str, Any]]:
        types: dict[str, dict[str, Any]] = self.data["gpuTypes"]
        return types

    @property
    def regions(self) -> dict[str, str]:
        names: dict[str, str] = self.data["regions"]
        return names

    def accept_unknown_gpu(self, name: str) -> bool:
        """True (and remembered for a warning) when unknown GPU types are allowed."""
        if self.allow_unknown_gpu:
            self._unknown_allowed.add(name)
            return True
        return False

    def unknown_gpus_allowed(self) -> list[str]:
        return sorted(self._unknown_allowed)

    def hourly_price(self, gpu_type: str, gpu_count: int, volume_gb: int,
                     workers: int) -> float | None:
        """Estimated $/h: workers × (GPU rate × gpuCount + storage rate × volume). None if the
        GPU type or its price is unknown."""
        gpu = self.gpu_types.get(gpu_type)
        if gpu is None or gpu.get("pricePerHour") is None:
            return None
        per_worker = (gpu["pricePerHour"] * gpu_count
                      + self.data["storagePricePerGbHour"] * volume_gb)
        return round(float(workers * per_worker), 6)


def builtin_catalog() -> Catalog:
    """A catalog of the built-in data only, strict about GPU types (a new one each time: a
    caller's --allow-unknown-gpu never reaches another's)."""
    return Catalog()


def catalog_in(context: object) -> Catalog:
    """The catalog a pydantic validation context carries (``{"catalog": Catalog}``), else the
    built-in one."""
    found = context.get("catalog") if isinstance(context, dict) else None
    return found if isinstance(found, Catalog) else builtin_catalog()


def builtin() -> dict[str, Any]:
    """The built-in data (a fresh copy: callers may extend it)."""
    data: dict[str, Any] = json.loads(_builtin_text())
    return data


@cache
def _builtin_text() -> str:
    from importlib import resources  # here: few commands read the catalog

    return resources.files("reconciler").joinpath("data/catalog.json").read_text("utf-8")


_NO_DETAILS = {"vramGb": None, "vcpu": None, "ramGb": None, "pricePerHour": None}


def read_user(path: str) -> dict[str, Any]:
    """A user catalog file, checked, each GPU type with the fields it gives (``catalog refresh``
    keeps what it already holds; an entry overrides a built-in one field by field)."""
    return _load_user(path)


def _load_user(path: str) -> dict[str, Any]:
    where = f"catalog file {path}"
    hint = "see the format in `yottactl --help` / README (gpuTypes, regions, storagePricePerGbHour)"
    from reconciler import localfile

    try:
        text = localfile.read_text(path, localfile.MANIFEST_CAP)
    except localfile.UnreadableFile as exc:
        raise UsageError(f"cannot read the {where}: {exc.reason}",
                         hint="check YOTTACTL_CATALOG or the project file's catalog setting"
                         ) from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise UsageError(f"the {where} is not valid JSON (nested too deeply)", hint=hint) from None
    except ValueError:
        data = _yaml(path, text, hint)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"the {where} must be a mapping", hint=hint)
    unknown = set(data) - {"gpuTypes", "regions", "storagePricePerGbHour", "_comment"}
    if unknown:
        raise UsageError(f"the {where} has unknown keys: {', '.join(sorted(map(str, unknown)))}",
                         hint=hint)
    gpus = data.get("gpuTypes") or {}
    regions_ = data.get("regions") or {}
    if not isinstance(gpus, dict) or not isinstance(regions_, dict):
        raise UsageError(f"the {where}: gpuTypes and regions must be mappings", hint=hint)
    out: dict[str, Any] = {"gpuTypes": {}, "regions": {}}
    for name, entry in gpus.items():
        entry = entry if isinstance(entry, dict) else {}
        price = entry.get("pricePerHour")
        if price is not None and amount(price) is None:
            raise UsageError(f"the {where}: gpuTypes.{name}.pricePerHour must be a number "
                             "(finite, not negative)", hint=hint)
        given = {"displayName": str(entry["displayName"]) if entry.get("displayName") else None,
                 "vramGb": entry.get("vramGb"), "vcpu": entry.get("vcpu"),
                 "ramGb": entry.get("ramGb"), "pricePerHour": price}
        out["gpuTypes"][str(name)] = {k: v for k, v in given.items() if v is not None}
    out["regions"] = {str(k): str(v or k) for k, v in regions_.items()}
    storage = data.get("storagePricePerGbHour")
    if storage is not None:
        if amount(storage) is None:
            raise UsageError(f"the {where}: storagePricePerGbHour must be a number (finite, "
                             "not negative)", hint=hint)
        out["storagePricePerGbHour"] = storage
    return out


def amount(value: object) -> float | None:
    """A price as a catalog file or the API may give it: a finite, non-negative JSON number;
    None for anything else (true, "3.5", .inf, .nan, -1, an integer past float's range). A
    price is summed into budgets and written to plan JSON, which has no NaN."""
    import math

    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        price = float(value)
    except OverflowError:
        return None
    return price if math.isfinite(price) and price >= 0 else None


def _yaml(path: str, text: str, hint: str) -> object:
    """The catalog as YAML, read like every other YAML file (alias and depth caps)."""
    from reconciler import fastyaml

    try:
        documents = [d for d in fastyaml.load_all(text) if d is not None]
    except fastyaml.YamlStructureError as exc:
        raise UsageError(f"the catalog file {path}:{exc.line}:{exc.column}: {exc}",
                         hint=exc.hint or hint) from None
    except Exception as exc:  # ruamel's syntax errors, translated at the boundary
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise UsageError(f"the catalog file {path}{at} is neither JSON nor YAML "
                         f"({getattr(exc, 'problem', None) or exc})", hint=hint) from None
    if len(documents) > 1:
        raise UsageError(f"the catalog file {path} holds several YAML documents", hint=hint)
    return documents[0] if documents else None
