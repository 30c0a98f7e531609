"""`yottactl catalog refresh`: the GPU types and regions ``GET /v2/vms/types`` lists, written
into the user catalog (reconciler/catalog.py) so `validate` accepts what the endpoint offers.
Prices are not invented: a type the endpoint adds has none (plans show its cost as unknown
until the catalog or the live ``perHourPrice`` gives one); entries the file already holds are
kept, prices included; built-in types and regions are not copied (the built-in prices stay)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler import catalog
from reconciler.app.session import Session
from reconciler.errors import UsageError
from reconciler.settings import Settings, catalog_file


@dataclass(frozen=True)
class Refreshed:
    path: str
    listed_types: int  # GPU types the endpoint lists
    listed_regions: int
    added_types: tuple[str, ...]  # new to the catalog (built-in and file)
    added_regions: tuple[str, ...]
    skipped: int = 0  # names the endpoint listed that are not plain identifiers


# what a GPU type or region name may look like to enter the catalog: the API's text is
# untrusted, and these names reach manifests' validation, plans and Markdown comments
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def refresh_catalog(settings: Settings, path: str | None) -> Refreshed:
    target = path or catalog_file()
    if not target:
        raise UsageError("catalog refresh needs a file to write",
                         hint="pass --file FILE, or export YOTTACTL_CATALOG=FILE (the user "
                              "catalog every command reads)")
    existing = catalog.read_user(target) if os.path.exists(target) else {}
    with Session(settings) as session:
        types = session.client.gpu_types()
    builtin = catalog.builtin()
    known_types = {**builtin["gpuTypes"], **existing.get("gpuTypes", {})}
    known_regions = {**builtin["regions"], **existing.get("regions", {})}
    gpus: dict[str, Any] = dict(existing.get("gpuTypes", {}))
    regions: dict[str, str] = dict(existing.get("regions", {}))
    added_types, added_regions = [], []
    listed_regions: set[str] = set()
    skipped = 0
    for gpu in types:
        if not PLAIN_NAME.fullmatch(gpu.gpuType) or not all(
                PLAIN_NAME.fullmatch(r.region) for r in gpu.regions):
            skipped += 1
            continue
        if gpu.gpuType not in known_types:
            gpus[gpu.gpuType] = {"displayName": gpu.gpuType}
            added_types.append(gpu.gpuType)
        for region in gpu.regions:
            listed_regions.add(region.region)
            if region.region not in known_regions and region.region not in regions:
                shown = "".join(c for c in region.regionName or "" if c.isprintable())[:64]
                regions[region.region] = shown or region.region
                added_regions.append(region.region)
    document: dict[str, Any] = {
        "_comment": "yottactl user catalog; `yottactl catalog refresh` adds what GET "
                    "/v2/vms/types lists (prices: add pricePerHour by hand)",
        "gpuTypes": {name: {k: v for k, v in entry.items() if v is not None}
                     for name, entry in sorted(gpus.items())},
        "regions": dict(sorted(regions.items())),
    }
    if "storagePricePerGbHour" in existing:
        document["storagePricePerGbHour"] = existing["storagePricePerGbHour"]
    from reconciler.state.atomic import atomic_write

    try:
        atomic_write(Path(target), json.dumps(document, indent=2) + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write the catalog {target}: {exc.strerror or exc}",
                         hint="check the folder exists and is writable") from None
    return Refreshed(target, len(types), len(listed_regions), tuple(added_types),
                     tuple(added_regions), skipped)
