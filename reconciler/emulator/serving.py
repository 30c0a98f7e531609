"""What a deployment's domain answers: the emulator's stand-in for the model server behind it.

Every ALB deployment serves under ``/_serve/<id>/...`` on the emulator's own port (its domain
says so, see ``World.domain_of``), so a client's health probe reaches it over real HTTP with no
DNS. The answer depends only on the world: 200 while the deployment is RUNNING with a RUNNING
worker, 503 while it is not serving (or its image is declared unhealthy), 404 once it is gone.
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.world import ApiFailure, World

PREFIX = "/_serve"


def is_serve_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def answer(world: World, path: str) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for a request to ``path`` (under ``/_serve``)."""
    dep_id, _, rest = path[len(PREFIX) + 1:].partition("/")
    if not dep_id.isdigit():
        return 404, {"error": "no deployment serves here"}
    with world.lock:
        try:
            dep = world.get(int(dep_id))
        except ApiFailure:
            return 404, {"error": f"no deployment {dep_id}"}
        if not dep["domain"]:
            return 404, {"error": f"deployment {dep_id} has no domain ({dep['serviceMode']})"}
        running = any(w["status"] == "RUNNING" for w in dep["workers"])
        if dep["status"] != "RUNNING" or not running:
            return 503, {"error": f"deployment {dep_id} is {dep['status']}, not serving"}
        if world.unhealthy(dep):
            return 503, {"error": f"deployment {dep_id} is unhealthy (image {dep['image']})"}
        return 200, {"id": dep["id"], "name": dep["name"], "image": dep["image"],
                     "status": dep["status"], "path": "/" + rest}
