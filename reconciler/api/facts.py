"""API facts the OpenAPI document leaves out (docs/ARCHITECTURE.md §1), kept in one place so they are easy
to change. Pure constants: the planner, the client and the renderers all read them here.
(GPU types, regions and prices are data: ``reconciler/data/catalog.json``.)
"""

from __future__ import annotations

DEFAULT_BASE_URL = "https://api.yottalabs.ai"
API_PREFIX = "/openapi/v1/elastic/deploy"
API_V2_PREFIX = "/v2/serverless"  # the v2 API (docs/API-V2.md): api/wire.py
VM_TYPES_PATH = "/v2/vms/types"  # v2: GPU types and their availability per region
AUTH_HEADER = "X-Api-Key"  # raw key, no "Bearer"

# Envelope codes. Success is 10000 only; anything else is an error even on HTTP 200.
CODE_OK = 10000
CODE_INVALID = 10001
CODE_SYSTEM = 10002
CODE_RECORD_NOT_FOUND = 10007
CODE_ENDPOINT_NOT_FOUND = 14000
CODE_SERVERLESS_MISSING = 24001
CODE_ACTION_NOT_ALLOWED = 24002
NOT_FOUND_CODES = frozenset({CODE_RECORD_NOT_FOUND, CODE_ENDPOINT_NOT_FOUND, CODE_SERVERLESS_MISSING})

# Deployment statuses; unknown ones parse as plain strings.
INITIALIZING, RUNNING, STOPPING, STOPPED, FAILED = (
    "INITIALIZING", "RUNNING", "STOPPING", "STOPPED", "FAILED",
)
DEPLOYMENT_STATUSES = (INITIALIZING, RUNNING, STOPPING, STOPPED, FAILED)
WORKER_TERMINATED = "TERMINATED"  # the worker list keeps these; hidden by default
WORKER_STATUSES = ("INITIALIZE", RUNNING, "PAUSING", "PAUSED", "TERMINATING", WORKER_TERMINATED,
                   FAILED)
QUEUE = "QUEUE"  # the platform varies running workers with load: not drift, not awaited
DEFAULT_IMAGE_REGISTRY = "https://index.docker.io/v1"

LOG_FORWARD, LOG_BACKWARD = "Forward", "Backward"
LOG_PAGE_DEFAULT, LOG_PAGE_MAX = 100, 1000
