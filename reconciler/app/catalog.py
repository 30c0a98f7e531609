"""`yottactl catalog refresh`: the GPU types and regions ``GET /v2/vms/types`` lists, written
into the user catalog (reconciler/catalog.py) so `validate` accepts what the endpoint offers.
Prices are not invented: a type the endpoint adds has none (plans show its cost as unknown
until the catalog or the live ``perHourPrice`` gives one); entries the file already holds are
kept, prices included; built-in types and regions are not copied (the built-in prices stay)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, MutableMapping
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
    existing = catalog.read_user(target) if os.path.exists(target) else {}  # checked first
    with Session(settings) as session:
        types = session.client.gpu_types()
    builtin = catalog.builtin()
    known_types = {**builtin["gpuTypes"], **existing.get("gpuTypes", {})}
    known_regions = {**builtin["regions"], **existing.get("regions", {})}
    gpus: dict[str, Any] = {}  # only what is new: the entries the file holds stay as written
    regions: dict[str, str] = {}
    listed_regions: set[str] = set()
    skipped = 0
    for gpu in types:
        if not PLAIN_NAME.fullmatch(gpu.gpuType) or not all(
                PLAIN_NAME.fullmatch(r.region) for r in gpu.regions):
            skipped += 1
            continue
        if gpu.gpuType not in known_types:
            gpus[gpu.gpuType] = {"displayName": gpu.gpuType}
        for region in gpu.regions:
            listed_regions.add(region.region)
            if region.region not in known_regions and region.region not in regions:
                shown = "".join(c for c in region.regionName or "" if c.isprintable())[:64]
                regions[region.region] = shown or region.region
    if gpus or regions or not os.path.exists(target):
        _write(target, gpus, regions)
    return Refreshed(target, len(types), len(listed_regions), tuple(gpus), tuple(regions),
                     skipped)


def _write(target: str, gpus: Mapping[str, object], regions: Mapping[str, str]) -> None:
    """Add ``gpus`` and ``regions`` to the file, in its own format: JSON stays JSON, YAML stays
    YAML with its comments and layout (ruamel's round trip); a new file is YAML when its name
    says so, else JSON."""
    from reconciler import localfile
    from reconciler.state.atomic import atomic_write

    text = localfile.read_text(target, localfile.MANIFEST_CAP) if os.path.exists(target) else ""
    blank = not text.strip()
    try:
        parsed: object = None if blank else json.loads(text)
        as_json = not blank or not target.endswith((".yaml", ".yml"))
    except ValueError:  # read_user read it as YAML
        parsed, as_json = None, False
    if as_json:
        document: MutableMapping[str, object] = parsed if isinstance(parsed, dict) else {}
        if blank:
            document["_comment"] = ("yottactl user catalog; `yottactl catalog refresh` adds what "
                                    "GET /v2/vms/types lists (prices: add pricePerHour by hand)")
        _add(document, gpus, regions)
        out = json.dumps(document, indent=2) + "\n"
    else:
        import io

        from ruamel.yaml import YAML
        from ruamel.yaml.comments import CommentedMap

        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        loaded = None if blank else yaml.load(text)
        document = loaded if isinstance(loaded, CommentedMap) else CommentedMap()
        _add(document, gpus, regions)
        buffer = io.StringIO()
        yaml.dump(document, buffer)
        out = buffer.getvalue()
    try:
        atomic_write(Path(target), out)
    except OSError as exc:
        raise UsageError(f"cannot write the catalog {target}: {exc.strerror or exc}",
                         hint="check the folder exists and is writable") from None


def _add(document: MutableMapping[str, object], gpus: Mapping[str, object],
         regions: Mapping[str, str]) -> None:
    for section, new in (("gpuTypes", gpus), ("regions", regions)):
        if not new:
            continue
        entries = document.get(section)
        if not isinstance(entries, MutableMapping):  # absent, or null
            entries = {}
            document[section] = entries
        for name in sorted(new):
            entries[name] = new[name]
