"""The emulator's world: deployments, workers and their lifecycle, computed from timestamps.

Transitions need no background thread: each record stores its phase, when it ends and what
follows, and every read first *settles* records against the clock. So state survives restarts
and tests can use zero-length transitions. Business rules follow docs/ARCHITECTURE.md §1.
"""

from __future__ import annotations

import fnmatch
import json
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.catalog import builtin_catalog

_CATALOG = builtin_catalog()  # the emulator serves the built-in GPU types and regions

INVALID, SYSTEM, NOT_FOUND, NOT_ALLOWED = 10001, 10002, 10007, 24002
MAX_WORKERS, MAX_GPUS = 100, 8  # platform quotas: an emulator must not allocate 2**31 workers


class ApiFailure(Exception):
    def __init__(self, code: int, message: str, http_status: int = 200) -> None:
        super().__init__(message)
        self.code, self.message, self.http_status = code, message, http_status


@dataclass
class Timings:
    transition_seconds: float = 3.0  # INITIALIZING->RUNNING, STOPPING->STOPPED, worker changes
    log_interval_seconds: float = 2.0  # a running worker writes a request line this often


def _worker_price_hour(dep: dict[str, Any]) -> float:
    res = dep["resources"][0]
    gpu = _CATALOG.gpu_types[res["gpuType"]]
    storage = _CATALOG.data["storagePricePerGbHour"] * dep["containerVolumeInGb"]
    # a user catalog may add a GPU type without a price
    return float((gpu["pricePerHour"] or 0.0) * res["gpuCount"] + storage)


class World:
    def __init__(
        self,
        timings: Timings | None = None,
        data_file: str | None = None,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        failing_images: tuple[str, ...] = (),
        unhealthy_images: tuple[str, ...] = (),
    ) -> None:
        self.timings = timings or Timings()
        self.failing_images = failing_images  # globs: INITIALIZING -> FAILED
        self.unhealthy_images = unhealthy_images  # globs: RUNNING, but the domain answers 503
        # where deployments serve HTTP (the server sets it once bound); None: the realistic
        # hostname only, nothing answers it
        self.serve_base: str | None = None
        self.data_file = data_file
        self.clock = clock
        self.lock = threading.RLock()
        self.deployments: dict[str, dict[str, Any]] = {}
        self._rng = random.Random(seed)
        self._next_id = 361_530_338_086_200_000 + self._rng.randrange(10_000) * 1000
        if data_file and os.path.exists(data_file):
            with open(data_file, encoding="utf-8") as fh:
                saved = json.load(fh)
            self.deployments = saved["deployments"]
            self._next_id = saved["next_id"]

    # -- persistence ------------------------------------------------------------------------

    def save(self) -> None:
        if not self.data_file:
            return
        folder = os.path.dirname(os.path.abspath(self.data_file))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".emulator-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"deployments": self.deployments, "next_id": self._next_id}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.data_file)

    def reset(self) -> None:
        with self.lock:
            self.deployments.clear()
            self.save()

    def new_id(self) -> str:
        self._next_id += 1 + self._rng.randrange(7)
        return str(self._next_id)

    # -- lifecycle --------------------------------------------------------------------------

    def _set_phase(self, dep: dict[str, Any], status: str, then: str | None) -> None:
        now = self.clock()
        dep["status"] = status
        dep["phase_until"] = now + self.timings.transition_seconds if then else None
        dep["phase_next"] = then

    def _settle(self, dep: dict[str, Any]) -> None:
        now = self.clock()
        if dep["phase_next"] and now >= dep["phase_until"]:
            dep["status"], dep["phase_next"] = dep["phase_next"], None
        for w in dep["workers"]:
            if dep["status"] == "FAILED" and w["status"] in ("INITIALIZE", "RUNNING"):
                w["status"], w["ended"] = "FAILED", now
            if w["status"] == "INITIALIZE" and dep["status"] == "RUNNING" and now >= w["ready"]:
                w["status"] = "RUNNING"
            if w["status"] == "TERMINATING" and now >= w["ended"]:
                w["status"] = "TERMINATED"

    def _launch_workers(self, dep: dict[str, Any], count: int, ready: float) -> None:
        res = dep["resources"]
        for i in range(count):
            r = res[i % len(res)]
            dep["workers"].append(
                {"id": self.new_id(), "region": r["region"], "gpuType": r["gpuType"],
                 "gpuCount": r["gpuCount"], "status": "INITIALIZE", "created": self.clock(),
                 "ready": ready, "ended": None}
            )

    def _running_target(self, dep: dict[str, Any]) -> int:
        # QUEUE mode: the platform keeps only part of the fleet warm (not drift, docs/ARCHITECTURE.md §1)
        workers: int = dep["workers_wanted"]
        return max(1, (workers + 1) // 2) if dep["serviceMode"] == "QUEUE" else workers

    @staticmethod
    def _matches(image: str, globs: tuple[str, ...]) -> bool:
        return any(fnmatch.fnmatchcase(image, glob) for glob in globs)

    def unhealthy(self, dep: dict[str, Any]) -> bool:
        return self._matches(dep["image"], self.unhealthy_images)

    def _boot(self, dep: dict[str, Any]) -> None:
        failing = (dep["image"].rsplit(":", 1)[-1].startswith("fail")
                   or self._matches(dep["image"], self.failing_images))
        self._set_phase(dep, "INITIALIZING", "FAILED" if failing else "RUNNING")
        self._launch_workers(dep, self._running_target(dep), dep["phase_until"])

    def _terminate(self, dep: dict[str, Any], workers: list[dict[str, Any]]) -> None:
        end = self.clock() + self.timings.transition_seconds
        for w in workers:
            if w["status"] in ("INITIALIZE", "RUNNING", "PAUSED", "PAUSING"):
                w["status"], w["ended"] = "TERMINATING", end

    def get(self, dep_id: int) -> dict[str, Any]:
        dep = self.deployments.get(str(dep_id))
        if dep is None:
            raise ApiFailure(NOT_FOUND, f"record not found: elastic deployment {dep_id}")
        self._settle(dep)
        return dep

    # -- test seeding (/_emulator/seed with ids and statuses) ---------------------------------

    def rekey(self, dep: dict[str, Any], dep_id: str) -> None:
        del self.deployments[dep["id"]]
        dep["id"] = dep_id
        self.deployments[dep_id] = dep

    def hold(self, dep: dict[str, Any], status: str) -> None:
        """Put ``dep`` in ``status`` and keep it there (a transition that never ends)."""
        ending = {"INITIALIZING": "RUNNING", "STOPPING": "STOPPED"}.get(status)
        dep["status"], dep["phase_next"] = status, ending
        dep["phase_until"] = self.clock() + 10**9 if ending else None
        worker_status = {"STOPPED": "TERMINATED", "FAILED": "FAILED",
                         "STOPPING": "TERMINATING"}.get(status, "INITIALIZE")
        for w in dep["workers"]:
            w["status"], w["ended"] = worker_status, self.clock() + 10**9

    # -- validation beyond the schema (documented rules) -------------------------------------

    @staticmethod
    def check_rules(body: dict[str, Any], creating: bool) -> None:
        if not 1 <= body["workers"] <= MAX_WORKERS:
            raise ApiFailure(INVALID, f"workers: must be between 1 and {MAX_WORKERS}", 400)
        counts = {r["gpuCount"] for r in body["resources"]}
        if len(counts) > 1:
            raise ApiFailure(INVALID, "resources: every entry must share the same gpuCount", 400)
        for r in body["resources"]:
            if r["gpuType"] not in _CATALOG.gpu_types:
                raise ApiFailure(INVALID, f"gpu type [{r['gpuType']}] not supported", 400)
            if r["region"] not in _CATALOG.regions:
                raise ApiFailure(INVALID, f"region [{r['region']}] not supported", 400)
            if not 1 <= r["gpuCount"] <= MAX_GPUS:
                raise ApiFailure(INVALID, f"resources.gpuCount: must be 1..{MAX_GPUS}", 400)
        cred = body.get("credentialId")
        if cred not in (None, "") and not str(cred).isdigit():
            raise ApiFailure(INVALID, f"credentialId: {cred!r} is not a numeric id", 400)
        if creating:
            if body["serviceMode"] not in ("ALB", "QUEUE", "CUSTOM"):
                raise ApiFailure(INVALID, "serviceMode: must be one of ALB, QUEUE, CUSTOM", 400)
            if body["serviceMode"] == "ALB" and not body.get("expose"):
                raise ApiFailure(INVALID, "expose: required when serviceMode is ALB", 400)

    @staticmethod
    def _configured(body: dict[str, Any]) -> dict[str, Any]:
        cred = body.get("credentialId")
        return {
            "resources": [
                {k: r[k] for k in ("region", "gpuType", "gpuCount")} for r in body["resources"]
            ],
            "minSingleCardVramInGb": body.get("minSingleCardVramInGb"),
            "minSingleCardVcpu": body.get("minSingleCardVcpu"),
            "minSingleCardRamInGb": body.get("minSingleCardRamInGb"),
            "credentialId": int(cred) if cred not in (None, "") else None,
            "containerVolumeInGb": body["containerVolumeInGb"],
            "initializationCommand": body.get("initializationCommand") or "",
            "environmentVars": [dict(kv) for kv in body.get("environmentVars") or []],
            "expose": dict(body["expose"]) if body.get("expose") else None,
            "webhookUrl": body.get("webhookUrl") or "",
            "workers_wanted": body["workers"],
        }

    # -- operations -------------------------------------------------------------------------

    def create(self, body: dict[str, Any], creator: str = "emulator@yotta.local") -> dict[str, Any]:
        self.check_rules(body, creating=True)
        dep_id = self.new_id()
        dep = {
            "id": dep_id, "name": body["name"], "creator": creator,
            "image": body["image"],
            "imageRegistry": body.get("imageRegistry") or "https://index.docker.io/v1",
            "serviceMode": body["serviceMode"], "created": self.clock(), "workers": [],
            **self._configured(body),
        }
        dep["domain"] = (
            f"{body['name'].lower().replace('@', '-').replace('.', '-').replace('_', '-')}"
            f"-{dep_id[-6:]}.elastic.yottalabs.ai" if body["serviceMode"] == "ALB" else ""
        )
        self._boot(dep)
        self.deployments[dep_id] = dep
        return dep

    def update(self, dep_id: int, body: dict[str, Any]) -> dict[str, Any]:
        dep = self.get(dep_id)
        if dep["status"] != "STOPPED":
            raise ApiFailure(NOT_ALLOWED, f"elastic action not allowed: update requires STOPPED, "
                                          f"deployment is {dep['status']}")
        self.check_rules(body, creating=False)
        if dep["serviceMode"] == "ALB" and not body.get("expose"):
            raise ApiFailure(INVALID, "expose: required when serviceMode is ALB", 400)
        dep.update(self._configured(body), name=body["name"])
        return dep

    def stop(self, dep_id: int) -> None:
        dep = self.get(dep_id)
        if dep["status"] not in ("RUNNING", "INITIALIZING", "FAILED"):
            raise ApiFailure(NOT_ALLOWED, f"elastic action not allowed: cannot stop a "
                                          f"{dep['status']} deployment")
        self._set_phase(dep, "STOPPING", "STOPPED")
        self._terminate(dep, dep["workers"])

    def start(self, dep_id: int) -> None:
        dep = self.get(dep_id)
        if dep["status"] != "STOPPED":
            raise ApiFailure(NOT_ALLOWED, f"elastic action not allowed: start requires STOPPED, "
                                          f"deployment is {dep['status']}")
        self._boot(dep)  # new worker ids, as the real platform does

    def scale(self, dep_id: int, workers: int) -> None:
        dep = self.get(dep_id)
        if not 1 <= workers <= MAX_WORKERS:
            raise ApiFailure(INVALID, f"workers: must be between 1 and {MAX_WORKERS}", 400)
        if dep["status"] not in ("RUNNING", "STOPPED"):
            raise ApiFailure(NOT_ALLOWED, f"elastic action not allowed: cannot scale a "
                                          f"{dep['status']} deployment")
        dep["workers_wanted"] = workers
        if dep["status"] == "STOPPED":
            return
        live = [w for w in dep["workers"] if w["status"] in ("INITIALIZE", "RUNNING")]
        target = self._running_target(dep)
        if target > len(live):
            self._launch_workers(dep, target - len(live),
                                 self.clock() + self.timings.transition_seconds)
        else:
            self._terminate(dep, live[target:])

    def delete(self, dep_id: int) -> None:
        dep = self.get(dep_id)
        if dep["status"] != "STOPPED":
            raise ApiFailure(NOT_ALLOWED, f"elastic action not allowed: delete requires STOPPED, "
                                          f"deployment is {dep['status']}")
        del self.deployments[str(dep_id)]

    def list(self, statuses: list[str] | None) -> list[dict[str, Any]]:
        out = []
        for dep in self.deployments.values():
            self._settle(dep)
            if not statuses or dep["status"] in statuses:
                out.append(dep)
        return out

    # -- views (wire shapes of the spec) ----------------------------------------------------

    def worker_view(self, dep: dict[str, Any], w: dict[str, Any]) -> dict[str, Any]:
        now = self.clock()
        gpu = _CATALOG.gpu_types[w["gpuType"]]
        started = w["ready"]
        end = w["ended"] if w["status"] in ("TERMINATING", "TERMINATED", "FAILED") else now
        uptime_ms = int(max(0.0, min(end or now, now) - started) * 1000)
        return {
            "id": w["id"], "region": w["region"], "regionDisplayName": _CATALOG.regions[w["region"]],
            "gpuType": w["gpuType"], "gpuDisplayName": gpu["displayName"],
            "gpuCount": w["gpuCount"], "singleCardVramInGb": gpu["vramGb"],
            "singleCardVcpu": gpu["vcpu"], "singleCardRamInGb": gpu["ramGb"],
            "uptime": uptime_ms,
            "cost": round(uptime_ms / 3_600_000 * _worker_price_hour(dep), 6),
            "status": w["status"],
        }

    def domain_of(self, dep: dict[str, Any]) -> str:
        """An ALB deployment's domain: a URL on the emulator's own port when it serves HTTP
        (no DNS needed; the client's url_of keeps a domain that has a scheme), else the
        Yotta-like hostname. Computed on read, so it follows the port after a restart."""
        if not dep["domain"] or self.serve_base is None:
            return str(dep["domain"])
        return f"{self.serve_base}/_serve/{dep['id']}"

    def detail_view(self, dep: dict[str, Any]) -> dict[str, Any]:
        workers = [self.worker_view(dep, w) for w in dep["workers"]]
        running = sum(1 for w in workers if w["status"] == "RUNNING")
        per_hour = round(running * _worker_price_hour(dep), 6) if dep["status"] == "RUNNING" else 0.0
        resources = []
        for r in dep["resources"]:
            gpu = _CATALOG.gpu_types[r["gpuType"]]
            resources.append({
                **r, "regionDisplayName": _CATALOG.regions[r["region"]],
                "gpuDisplayName": gpu["displayName"], "singleCardVramInGb": gpu["vramGb"],
                "singleCardVcpu": gpu["vcpu"], "singleCardRamInGb": gpu["ramGb"],
            })
        view = {
            "id": dep["id"], "name": dep["name"], "creator": dep["creator"],
            "domain": self.domain_of(dep), "imageRegistry": dep["imageRegistry"],
            "image": dep["image"],
            "resources": resources,
            "containerVolumeInGb": dep["containerVolumeInGb"],
            "initializationCommand": dep["initializationCommand"],
            "environmentVars": dep["environmentVars"],
            "totalWorkers": dep["workers_wanted"], "runningWorkers": running,
            "cost": round(sum(w["cost"] for w in workers), 6),
            "perSecondPrice": round(per_hour / 3600, 9), "perHourPrice": per_hour,
            "serviceMode": dep["serviceMode"], "webhookUrl": dep["webhookUrl"],
            "status": dep["status"],
        }
        if dep["expose"]:
            view["expose"] = dep["expose"]
        for key in ("minSingleCardVramInGb", "minSingleCardVcpu", "minSingleCardRamInGb",
                    "credentialId"):
            if dep[key] is not None:
                view[key] = dep[key]
        return view
