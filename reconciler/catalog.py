"""Known GPU types, regions and prices, read from ``data/catalog.json`` (DESIGN §1).

Kept as data so a new GPU type is a one-line change. Pure: no network, cached after first read.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def catalog() -> dict[str, Any]:
    text = resources.files("reconciler").joinpath("data/catalog.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def gpu_types() -> dict[str, dict[str, Any]]:
    types: dict[str, dict[str, Any]] = catalog()["gpuTypes"]
    return types


def regions() -> dict[str, str]:
    names: dict[str, str] = catalog()["regions"]
    return names


def hourly_price(gpu_type: str, gpu_count: int, volume_gb: int, workers: int) -> float | None:
    """Estimated $/h: workers × (GPU rate × gpuCount + storage rate × volume). None if unknown GPU."""
    gpu = gpu_types().get(gpu_type)
    if gpu is None:
        return None
    per_worker = gpu["pricePerHour"] * gpu_count + catalog()["storagePricePerGbHour"] * volume_gb
    return round(float(workers * per_worker), 6)
