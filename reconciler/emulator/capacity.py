"""GPU capacity per region, as ``GET /v2/vms/types`` reports it (docs/API-V2.md).

Every catalog GPU type is offered in every catalog region and is available until a test says
otherwise through ``POST /_emulator/capacity``. Availability is only reported: a create on an
unavailable pair still succeeds, because no source says what the real platform does then.
"""

from __future__ import annotations

import threading
from typing import Any

from reconciler.catalog import builtin_catalog

_CATALOG = builtin_catalog()  # the emulator serves the built-in GPU types and regions


class Capacity:
    def __init__(self) -> None:
        self._unavailable: set[tuple[str, str]] = set()  # (gpuType, region)
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._unavailable.clear()

    def change(self, payload: Any) -> None:
        """Apply ``{"gpuType", "region", "available"}`` or ``{"set": [such, ...]}``, all or none.

        Raises ValueError naming the entry that is not a known pair or not a boolean."""
        entries = payload.get("set") if isinstance(payload, dict) and "set" in payload else [payload]
        if not isinstance(entries, list):
            raise ValueError('"set" must be a list of {gpuType, region, available}')
        changes = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise ValueError("each entry must be an object {gpuType, region, available}")
            gpu, region, available = entry.get("gpuType"), entry.get("region"), entry.get("available")
            if gpu not in _CATALOG.gpu_types:
                raise ValueError(f"gpuType {gpu!r} is not in the catalog")
            if region not in _CATALOG.regions:
                raise ValueError(f"region {region!r} is not in the catalog")
            if not isinstance(available, bool):
                raise ValueError(f"available must be true or false, not {available!r}")
            changes.append(((gpu, region), available))
        with self._lock:
            for pair, available in changes:
                if available:
                    self._unavailable.discard(pair)
                else:
                    self._unavailable.add(pair)

    def unavailable(self) -> list[dict[str, str]]:
        with self._lock:
            return [{"gpuType": g, "region": r} for g, r in sorted(self._unavailable)]

    def vm_types(self) -> list[dict[str, Any]]:
        """The ``data`` of ``GET /v2/vms/types``: one entry per GPU type, one per region in it;
        ``vmTypeId`` is stable for a pair as long as the catalog is."""
        with self._lock:
            unavailable = set(self._unavailable)
        names = _CATALOG.regions
        out: list[dict[str, Any]] = []
        vm_type_id = 0
        for gpu in sorted(_CATALOG.gpu_types):
            offered = []
            for region in sorted(names):
                vm_type_id += 1
                offered.append({"region": region, "regionName": names[region],
                                "available": (gpu, region) not in unavailable,
                                "vmTypeId": vm_type_id})
            out.append({"gpuType": gpu, "regions": offered})
        return out
