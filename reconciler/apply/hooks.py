"""The probe and the cutover of a blue-green rollout (lifecycle.probe, lifecycle.cutover).

Both come from a manifest, a file any pull request can edit, and run only inside `apply`
(which a person or a merge pipeline approved). Neither is given a credential: the probe is a
plain GET with no API key; a cutover webhook gets a POST of the rollout's names, ids and domains
and nothing else (no API key header, no ~/.netrc, no redirect followed); a cutover command runs
without a shell and with a minimal environment (PATH, HOME, LANG, TMPDIR and the rollout's
YOTTACTL_* values), so it never inherits YOTTA_API_KEY, PGPASSWORD or any secret exported for
`${env:...}`. The manifest's lifecycle cannot read `${env:...}` either (manifest/loader.py).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from reconciler.errors import YottactlError
from reconciler.plan.model import CutoverSpec, ProbeSpec

__all__ = ["CutoverFailed", "ProbeFailed", "Switch", "probe_url", "run_cutover", "run_probe"]

OUTPUT_CHARS = 2000  # of a failing command's output, shown in the error


class ProbeFailed(YottactlError):
    """The probe did not pass `successes` times in a row before the deadline."""


class CutoverFailed(YottactlError):
    """The cutover command exited non-zero, or the webhook answered other than 2xx."""


class Interrupt(Exception):
    """Ctrl-C while probing."""


@dataclass(frozen=True)
class Switch:
    """What the cutover is told: which deployment replaces which."""

    name: str
    old_id: str
    new_id: str
    old_domain: str
    new_domain: str

    def as_env(self) -> dict[str, str]:
        return {"YOTTACTL_DEPLOYMENT": self.name, "YOTTACTL_OLD_ID": self.old_id,
                "YOTTACTL_NEW_ID": self.new_id, "YOTTACTL_OLD_DOMAIN": self.old_domain,
                "YOTTACTL_NEW_DOMAIN": self.new_domain}

    def as_json(self) -> dict[str, str]:
        return {"event": "yottactl.cutover", "deployment": self.name, "old_id": self.old_id,
                "new_id": self.new_id, "old_domain": self.old_domain,
                "new_domain": self.new_domain}


def probe_url(domain: str, path: str) -> str:
    """The probe's URL: the deployment's domain (a full URL on the emulator, a host on Yotta)
    joined with the manifest's path."""
    base = domain if "://" in domain else f"https://{domain}"
    return base.rstrip("/") + "/" + path.lstrip("/")


def run_probe(url: str, spec: ProbeSpec, stop: threading.Event, deadline: float,
              name: str) -> int:
    """GET ``url`` every ``interval_seconds`` until it answers ``expect_status`` ``successes``
    times in a row; returns the attempts made. Raises :class:`ProbeFailed` at ``deadline``
    (monotonic clock) and :class:`Interrupt` when ``stop`` is set."""
    in_a_row = attempts = 0
    last = "no answer yet"
    with httpx.Client(timeout=spec.timeout_seconds, follow_redirects=False,
                      headers={"User-Agent": "yottactl-probe"}) as client:
        while True:
            attempts += 1
            try:
                status = client.get(url).status_code
                last = f"HTTP {status}"
            except httpx.HTTPError as exc:
                status, last = 0, type(exc).__name__
            in_a_row = in_a_row + 1 if status == spec.expect_status else 0
            if in_a_row >= spec.successes:
                return attempts
            if time.monotonic() + spec.interval_seconds > deadline:
                raise ProbeFailed(
                    f"{name}: the probe never passed: GET {url} wanted {spec.expect_status} "
                    f"{spec.successes}x in a row; {attempts} attempts, the last: {last}",
                    hint="check lifecycle.probe (path, expectStatus) against what the new "
                         "image serves")
            if stop.wait(spec.interval_seconds):
                raise Interrupt()


def run_cutover(spec: CutoverSpec, switch: Switch, base_env: Mapping[str, str]) -> None:
    """Run the command (argv, no shell, ``base_env`` plus the switch: settings.hook_environment
    decides what of ours it gets) or POST the webhook; raises :class:`CutoverFailed` on a
    non-zero exit, a non-2xx answer, or the timeout."""
    if spec.command is not None:
        _command(spec.command, spec.timeout_seconds, switch, base_env)
    else:
        _webhook(spec.webhook or "", spec.timeout_seconds, switch)


def _command(argv: tuple[str, ...], timeout: float, switch: Switch,
             base_env: Mapping[str, str]) -> None:
    env = {**base_env, **switch.as_env()}
    hint = "fix the command (lifecycle.cutover.command); the old deployment kept serving"
    try:
        done = subprocess.run(list(argv), env=env, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        raise CutoverFailed(f"{switch.name}: the cutover command {argv[0]!r} was not found",
                            hint=hint) from None
    except PermissionError:
        raise CutoverFailed(f"{switch.name}: the cutover command {argv[0]!r} is not executable",
                            hint=hint) from None
    except subprocess.TimeoutExpired:
        raise CutoverFailed(f"{switch.name}: the cutover command did not finish in "
                            f"{timeout:g}s", hint=hint) from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout or b"").decode("utf-8", "replace")[-OUTPUT_CHARS:]
        raise CutoverFailed(f"{switch.name}: the cutover command exited {done.returncode}"
                            + (f": {said.strip()}" if said.strip() else ""), hint=hint)


def _webhook(url: str, timeout: float, switch: Switch) -> None:
    hint = "check the webhook (lifecycle.cutover.webhook); the old deployment kept serving"
    try:
        with httpx.stream("POST", url, json=switch.as_json(), timeout=timeout,
                          follow_redirects=False,
                          headers={"User-Agent": "yottactl-cutover"}) as response:
            status = response.status_code
    except httpx.HTTPError as exc:
        raise CutoverFailed(f"{switch.name}: the cutover webhook failed: "
                            f"{type(exc).__name__}: {exc}", hint=hint) from None
    except httpx.InvalidURL as exc:
        raise CutoverFailed(f"{switch.name}: the cutover webhook URL is not valid ({exc})",
                            hint=hint) from None
    if not 200 <= status < 300:
        raise CutoverFailed(f"{switch.name}: the cutover webhook answered HTTP {status}",
                            hint=hint)
