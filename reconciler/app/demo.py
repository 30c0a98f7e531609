"""`yottactl demo`: plan -> apply -> plan -> get against a throw-away local emulator."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable

from reconciler.errors import YottactlError

# (what the step shows, the command's arguments); PATH is filled in
STEPS = (
    ("plan: what would change", ["plan", "PATH"]),
    ("apply: create everything", ["apply", "PATH", "--auto-approve"]),
    ("plan again: nothing left to do", ["plan", "PATH", "--detailed-exitcode"]),
    ("get: the live fleet", ["get"]),
)


def run_demo(path: str, transition_seconds: float,
             on_step: Callable[[str, list[str]], None]) -> None:
    """Run each step as a real `yottactl` process on a fresh emulator and state; the demo's
    own values stand in for the example manifests' secrets."""
    from reconciler.emulator.server import EmulatorServer, build
    from reconciler.settings import child_environment

    server = EmulatorServer(build(transition_seconds=transition_seconds,
                                  log_interval_seconds=0.5)).start()
    with tempfile.TemporaryDirectory(prefix="yottactl-demo-") as folder:
        env = child_environment({
            "YOTTA_API_URL": server.url, "YOTTA_API_KEY": "demo-key",
            "YOTTACTL_STATE": os.path.join(folder, "demo.state.json"),
            "HF_TOKEN": "hf_demo_token", "QUEUE_TOKEN": "demo_queue_token"})
        try:
            for title, template in STEPS:
                args = [path if a == "PATH" else a for a in template]
                on_step(title, args)
                code = subprocess.call([sys.executable, "-m", "reconciler", *args], env=env)
                if code != 0:
                    raise YottactlError(f"`yottactl {' '.join(args)}` exited {code}")
        finally:
            server.stop()
