"""Why a change is planned (a code) and what the plan says about it (the sentence).

Like Terraform's ``ResourceInstanceChangeActionReason``: tests and tools match the code; people
read the sentence, rendered from the code here and nowhere else. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class Reason(str, Enum):
    NOT_FOUND = "not-found"  # nothing live carries the name: create
    DELETED_OUTSIDE = "deleted-outside"  # the state's id is gone live: create again
    REPLACE_FIELDS = "replace-fields"  # a field the update request cannot carry changed
    FAILED_RESTART = "failed-restart"
    FAILED_UPDATE_RESTART = "failed-update-restart"
    FAILED_STOP = "failed-stop"
    UP_TO_DATE = "up-to-date"
    UP_TO_DATE_INITIALIZING = "up-to-date-initializing"  # plan files before format 3 only
    WAITING_RUNNING = "waiting-running"  # up to date but INITIALIZING: apply waits for RUNNING
    WAITING_STOPPED = "waiting-stopped"  # up to date but STOPPING: apply waits for STOPPED
    UP_TO_DATE_STOPPED = "up-to-date-stopped"
    SCALE_RUNNING = "scale-running"
    SCALE_STOPPED = "scale-stopped"
    UPDATE_RESTART = "update-restart"  # running: stop, update, start
    UPDATE_AND_STOP = "update-and-stop"
    UPDATE_THEN_START = "update-then-start"
    UPDATE_STOPPED = "update-stopped"
    STOP_REQUESTED = "stop-requested"
    START_REQUESTED = "start-requested"
    REMOVED = "removed"  # left the manifests: stop and delete
    REMOVED_GONE = "removed-gone"  # left the manifests and already gone live: forget
    REPLACE_REQUESTED = "replace-requested"  # `apply --replace NAME`
    RESTART_REQUESTED = "restart-requested"  # `yottactl restart NAME`
    DESTROY = "destroy"  # `yottactl destroy`: stop and delete
    DESTROY_GONE = "destroy-gone"  # `yottactl destroy` of one already gone live: forget
    REKEYED = "rekeyed"  # the state's entry of its live id moves to the manifest's name
    LIFECYCLE_CHANGED = "lifecycle-changed"  # only lifecycle settings: recorded, no API call
    REFRESHED = "refreshed"  # apply --refresh-only: live values recorded in the state
    REFRESH_GONE = "refresh-gone"  # apply --refresh-only: gone live, dropped from the state
    KEPT = "kept"  # imported with --allow-unmanaged: in no manifest, kept (never deleted)
    DELETE_UNMANAGED = "delete-unmanaged"  # `yottactl delete-unmanaged ID`: in no state
    # lifecycle.rollout: blueGreen (plan/rollout.py)
    ROLLOUT_REPLACE = "rollout-replace"  # a field the update cannot carry: new deployment first
    ROLLOUT_UPDATE = "rollout-update"  # an update that would stop it: new deployment first
    ROLLOUT_REQUESTED = "rollout-requested"  # `apply --replace NAME`
    ROLLOUT_RESUME = "rollout-resume"  # an interrupted rollout's green is live: carried on
    ROLLOUT_FINISH = "rollout-finish"  # cut over, the old deployment not yet deleted
    ROLLOUT_DISCARD = "rollout-discard"  # a failed/kept/outdated green is deleted
    UNSPECIFIED = "unspecified"  # read from a format-1 plan file, which stored only the sentence


_SENTENCES = {
    Reason.NOT_FOUND: "not found live; will be created",
    Reason.DELETED_OUTSIDE: "deleted outside yottactl; will be created again",
    Reason.REPLACE_FIELDS: "{fields} cannot be updated in place",
    Reason.FAILED_RESTART: "live status is FAILED; restarting",
    Reason.FAILED_UPDATE_RESTART: "live status is FAILED; updating {fields} and restarting",
    Reason.FAILED_STOP: "live status is FAILED; stopping as the manifest asks",
    Reason.UP_TO_DATE: "up to date",
    Reason.UP_TO_DATE_INITIALIZING: "up to date (initializing)",
    Reason.UP_TO_DATE_STOPPED: "up to date (stopped)",
    Reason.WAITING_RUNNING: "up to date but {status}: waiting for RUNNING{since}",
    Reason.WAITING_STOPPED: "up to date but {status}: waiting for STOPPED{since}",
    Reason.SCALE_RUNNING: "workers changed; scaled in place",
    Reason.SCALE_STOPPED: "workers changed; recorded while stopped",
    Reason.UPDATE_RESTART: "{fields} changed; updates need STOPPED, so it is stopped, updated "
                           "and started",
    Reason.UPDATE_AND_STOP: "{fields} changed and the manifest asks for state: stopped",
    Reason.UPDATE_THEN_START: "{fields} changed; updated while stopped, then started",
    Reason.UPDATE_STOPPED: "{fields} changed; updated while stopped",
    Reason.STOP_REQUESTED: "manifest asks for state: stopped",
    Reason.START_REQUESTED: "manifest asks for state: running",
    Reason.REMOVED: "removed from manifests",
    Reason.REMOVED_GONE: "removed from manifests and already gone live; will be dropped from the "
                         "state",
    Reason.REPLACE_REQUESTED: "replacement requested with --replace",
    Reason.RESTART_REQUESTED: "restart requested: stopped and started with new workers",
    Reason.DESTROY: "destroy requested",
    Reason.DESTROY_GONE: "destroy requested and already gone live; will be dropped from the state",
    Reason.REKEYED: "up to date; the state's entry takes this name (no API call)",
    Reason.LIFECYCLE_CHANGED: "lifecycle changed; recorded in the state only",
    Reason.REFRESHED: "live values recorded in the state (refresh only)",
    Reason.REFRESH_GONE: "deleted outside yottactl; will be dropped from the state",
    Reason.KEPT: "not in manifests: kept (imported with --allow-unmanaged)",
    Reason.DELETE_UNMANAGED: "unmanaged (mapped by no name in the state); deleted by id on request",
    Reason.ROLLOUT_REPLACE: "{fields} cannot be updated in place; blue-green rollout: the new "
                            "deployment serves before the old one stops",
    Reason.ROLLOUT_UPDATE: "{fields} changed and updates need STOPPED; blue-green rollout: the "
                           "new deployment serves before the old one stops",
    Reason.ROLLOUT_REQUESTED: "replacement requested with --replace; blue-green rollout",
    Reason.ROLLOUT_RESUME: "an interrupted rollout's new deployment is live: the rollout carries "
                           "on with it",
    Reason.ROLLOUT_FINISH: "a rollout cut over to this deployment; the old one is still to be "
                           "stopped and deleted",
    Reason.ROLLOUT_DISCARD: "the new deployment of an earlier rollout (failed, kept or outdated) "
                            "is deleted; the serving one is not touched",
    Reason.UNSPECIFIED: "",
}


def sentence(reason: Reason, fields: Iterable[str] = (), *, status: str | None = None,
             since: str | None = None) -> str:
    """The reason as the plan prints it; ``fields`` are the changed top-level fields, ``status``
    the live one and ``since`` when it began (if known) for the waiting reasons."""
    return _SENTENCES[reason].format(fields=", ".join(sorted(fields)), status=status or "?",
                                     since=f" since {since}" if since else "")
