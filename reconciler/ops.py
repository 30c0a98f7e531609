"""The executor's vocabulary, shared by the layers that speak it: the operations a step runs
(``Op``: planned in plan/, run in apply/, journaled in state/) and what the executor reports
about a step as it runs (``StepOutcome``: emitted by apply/, drawn by render/, which do not
import each other). Pure: no imports beyond the standard library.
"""

from __future__ import annotations

from enum import Enum


class Op(str, Enum):
    """One executor step: an API call, or a wait that polls ``detail``."""

    CREATE = "create"
    UPDATE = "update"
    SCALE = "scale"
    START = "start"
    STOP = "stop"
    DELETE = "delete"
    WAIT = "wait"
    FORGET = "forget"  # drop from the state only (already gone live)
    PROBE = "probe"  # blue-green: HTTP GETs on the new deployment's domain until they pass
    CUTOVER = "cutover"  # blue-green: the manifest's command or webhook moves the clients


class StepOutcome(str, Enum):
    """What the executor reports about a deployment's step (``apply/events.Event.outcome``)."""

    START = "start"
    STATUS = "status"  # one poll of a wait: what the API reported and what is awaited
    OK = "ok"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # stopped (Ctrl-C / SIGTERM) during this step
    DONE = "done"  # the deployment's last step finished
