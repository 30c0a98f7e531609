"""The probe and the cutover of a blue-green rollout (lifecycle.probe, lifecycle.cutover).

Both come from a manifest, a file any pull request can edit, and run only inside `apply`
(which a person or a merge pipeline approved). Neither is given a credential: the probe is a
plain GET with no API key; a cutover webhook gets a POST of the rollout's names, ids and domains
and nothing else (no API key header, no ~/.netrc, no redirect followed); a cutover command runs
without a shell and with a minimal environment (PATH, HOME, LANG, TMPDIR and the rollout's
YOTTACTL_* values), so it does not inherit YOTTA_API_KEY, PGPASSWORD or any secret exported for
`${env:...}`. The manifest's lifecycle cannot read `${env:...}` either (manifest/loader.py).

What a command CAN reach: it is a program run as the user running `apply`, so it can read that
user's files (~/.pgpass, ~/.netrc, cloud credentials, the state file) and, unless prevented, the
environment and memory of the yottactl process (/proc/<its parent>/environ). On Linux yottactl
makes itself non-dumpable before starting one (:func:`keep_children_out`), which closes the
latter to a command of the same user, not to root. Review a cutover command like code.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass

from reconciler.api.plain_http import Answer, Prober, post_json
from reconciler.errors import YottactlError
from reconciler.plan.model import CutoverSpec, ProbeSpec
from reconciler.redact import Secrets

__all__ = ["CutoverFailed", "ProbeFailed", "Switch", "probe_url", "run_cutover", "run_probe"]

OUTPUT_CHARS = 2000  # of a failing command's output, shown in the error
PROBE_BODY_BYTES = 4096  # of a probe answer's body read at most: its status is what counts
STOP_POLL_SECONDS = 0.05  # how soon a request in flight notices Ctrl-C or its deadline


class ProbeFailed(YottactlError):
    """The probe did not pass `successes` times in a row before the deadline."""


class CutoverFailed(YottactlError):
    """The cutover command exited non-zero, or the webhook answered other than 2xx.
    ``brief``: the cause without the command's output, for the state and the journal (the
    output may echo anything the command read; it is shown masked, never kept)."""

    brief = ""


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
    (monotonic clock: apply's --timeout) and :class:`Interrupt` when ``stop`` is set.

    The answer comes from the image being released, so it is bounded: at most
    PROBE_BODY_BYTES of a body are read (a 2 GiB answer is not held in memory), and each request
    ends at ``timeoutSeconds`` in total or at ``deadline``, whichever is first (httpx's timeouts
    are per read, so an answer dripping a byte at a time would never time out), or as soon as
    ``stop`` is set (Ctrl-C). Requests run on asyncio so that one can be cancelled midway."""
    return asyncio.run(_probe(url, spec, stop, deadline, name))


async def _probe(url: str, spec: ProbeSpec, stop: threading.Event, deadline: float,
                 name: str) -> int:
    in_a_row = attempts = 0
    last = answered = "no answer yet"
    async with Prober(timeout=spec.timeout_seconds, agent="yottactl-probe",
                      max_body=PROBE_BODY_BYTES) as client:
        while True:
            attempts += 1
            left = deadline - time.monotonic()
            late = (f"no complete answer within timeoutSeconds ({spec.timeout_seconds:g}s)"
                    if spec.timeout_seconds <= left else
                    "no complete answer before the deadline (apply's --timeout)")
            status, last = await _bounded(client.get(url), min(spec.timeout_seconds, left),
                                          stop, late)
            answered = last if status else answered
            in_a_row = in_a_row + 1 if status == spec.expect_status else 0
            if in_a_row >= spec.successes:
                return attempts
            if time.monotonic() + spec.interval_seconds > deadline:
                also = f" (the last answer: {answered})" if answered != last else ""
                raise ProbeFailed(
                    f"{name}: the probe never passed: GET {url} wanted {spec.expect_status} "
                    f"{spec.successes}x in a row; {attempts} attempts, the last: {last}{also}",
                    hint="check lifecycle.probe (path, expectStatus) against what the new "
                         "image serves")
            if await _stopped(stop, spec.interval_seconds):
                raise Interrupt()


async def _bounded(request: Awaitable[Answer], budget: float,
                   stop: threading.Event, late: str) -> tuple[int, str]:
    """(status, what happened) of ``request`` given ``budget`` seconds in total; status 0 when
    it failed, or ran out of time (said by ``late``). Raises :class:`Interrupt` when ``stop``
    is set meanwhile."""
    task = asyncio.ensure_future(request)
    end = time.monotonic() + max(budget, 0.0)
    try:
        while not task.done():
            if stop.is_set():
                raise Interrupt()
            left = end - time.monotonic()
            if left <= 0:
                return 0, late
            await asyncio.wait({task}, timeout=min(left, STOP_POLL_SECONDS))
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
    answer = task.result()
    return answer.status, answer.failure or f"HTTP {answer.status}"


async def _stopped(stop: threading.Event, seconds: float) -> bool:
    """Pause ``seconds``; True as soon as ``stop`` is set."""
    end = time.monotonic() + seconds
    while not stop.is_set():
        left = end - time.monotonic()
        if left <= 0:
            return False
        await asyncio.sleep(min(left, STOP_POLL_SECONDS))
    return True


def run_cutover(spec: CutoverSpec, switch: Switch, base_env: Mapping[str, str],
                secrets: Secrets) -> None:
    """Run the command (argv, no shell, ``base_env`` plus the switch: settings.hook_environment
    decides what of ours it gets) or POST the webhook; raises :class:`CutoverFailed` on a
    non-zero exit, a non-2xx answer, or the timeout. What either says back is shown with
    ``secrets`` (the command's: API key, ${env:...} values) masked."""
    if spec.command is not None:
        _command(spec.command, spec.timeout_seconds, switch, base_env, secrets)
    else:
        _webhook(spec.webhook or "", spec.timeout_seconds, switch, secrets)


PR_SET_DUMPABLE = 4  # linux/prctl.h


def keep_children_out() -> None:
    """Make this process non-dumpable (Linux, PR_SET_DUMPABLE 0) before it starts a cutover
    command: a program running as the same user can then no longer read our memory or
    /proc/<pid>/environ (the API key, PGPASSWORD, ${env:...} values) nor attach a debugger.
    It does not stop root, nor the command reading the user's files. It also means no core
    dump of this run, which holds those secrets anyway. Elsewhere, or if it fails: nothing."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _command(argv: tuple[str, ...], timeout: float, switch: Switch,
             base_env: Mapping[str, str], secrets: Secrets) -> None:
    env = {**base_env, **switch.as_env()}
    keep_children_out()
    hint = "fix the command (lifecycle.cutover.command)"
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
        # masked before it is cut (a secret straddling the cut never survives as a prefix)
        said = secrets.redact((done.stderr or done.stdout or b"").decode("utf-8", "replace").strip())
        said = said if len(said) <= OUTPUT_CHARS else "…" + said[-OUTPUT_CHARS:]
        brief = f"the cutover command exited {done.returncode}"
        failed = CutoverFailed(f"{switch.name}: {brief}" + (f": {said}" if said else ""),
                               hint=hint)
        failed.brief = brief
        raise failed


def _webhook(url: str, timeout: float, switch: Switch, secrets: Secrets) -> None:
    hint = "check the webhook (lifecycle.cutover.webhook)"
    answer = post_json(url, switch.as_json(), timeout=timeout, agent="yottactl-cutover",
                       secrets=secrets)
    if answer.bad_url:
        raise CutoverFailed(f"{switch.name}: the cutover webhook URL is not valid "
                            f"({answer.bad_url})", hint=hint)
    if answer.failure:
        raise CutoverFailed(f"{switch.name}: the cutover webhook failed: {answer.failure}",
                            hint=hint)
    if answer.problem is not None:
        raise CutoverFailed(f"{switch.name}: the cutover webhook answered HTTP {answer.status}",
                            hint=hint)
