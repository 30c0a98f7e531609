"""`--debug` / YOTTACTL_LOG=debug (one line per HTTP call, secrets redacted) and shell completion
(scripts for bash, zsh and fish; deployment names completed from the state)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from reconciler.api import debuglog
from reconciler.api.client import YottaClient
from reconciler.api.retry import RetryPolicy
from reconciler.cli import main
from reconciler.errors import RateLimited
from reconciler.redact import Secrets

from conftest import API_KEY, CANARY, Cli

CALL = re.compile(r"^debug: (GET|POST|DELETE) /openapi/v1/elastic/deploy/\S+ → HTTP \d{3} "
                  r"code \d+ \d+ms")


def test_debug_logs_one_line_per_http_call_without_secrets(cli: Cli) -> None:
    cli.write("secretive")
    result = cli.subprocess("--debug", "apply", str(cli.manifests), "--auto-approve")
    assert result.returncode == 0, result.stderr
    lines = [x for x in result.stderr.splitlines() if x.startswith("debug: ")]
    assert lines and all(CALL.match(x) for x in lines), lines
    assert any(x.startswith("debug: GET /openapi/v1/elastic/deploy/list → HTTP 200 code 10000")
               for x in lines)
    assert any(x.startswith("debug: POST /openapi/v1/elastic/deploy/create → HTTP 200")
               for x in lines)
    for secret in (API_KEY, CANARY):
        assert secret not in result.stderr and secret not in result.stdout
    quiet = cli.subprocess("plan", str(cli.manifests))
    assert "debug:" not in quiet.stderr  # off unless asked


def test_yottactl_log_env_turns_debug_on_and_retries_say_why(cli: Cli) -> None:
    cli.server.emulator.faults.fault_rate = 1.0  # every call is throttled: retries, then fails
    cli.server.emulator.faults.kinds = ("429",)  # with Retry-After: 0, so no test time is spent
    result = cli.subprocess("get", env={"YOTTACTL_LOG": "debug"}, timeout=120)
    assert result.returncode == 1
    assert re.search(r"^debug: GET /openapi/v1/elastic/deploy/list → HTTP 429 .*\d+ms",
                     result.stderr, re.M), result.stderr
    assert re.search(r"^debug: retry after attempt 1: list failed: .*; next attempt in "
                     r"\d+\.\d\ds$", result.stderr, re.M), result.stderr
    assert API_KEY not in result.stderr


def test_debug_lines_and_errors_redact_the_commands_secrets(
        capsys: pytest.CaptureFixture[str]) -> None:
    """An API message echoing the key or an ${env:...} value (the client's Secrets, owned by
    the command: no process-wide list) is masked in the retry line and in the error."""
    echoed = "token=k3y-VALUE-42 and hf_env_VALUE_7"

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"code": 10500, "message": echoed},
                              headers={"Retry-After": "0"})

    client = YottaClient("k3y-VALUE-42", "http://127.0.0.1:9",
                         http=httpx.Client(transport=httpx.MockTransport(answer)),
                         retry=RetryPolicy(attempts=2), secrets=Secrets(["hf_env_VALUE_7"]))
    debuglog.configure()
    try:
        with pytest.raises(RateLimited) as raised:
            client.list()
    finally:
        debuglog.configure(False)
    err = capsys.readouterr().err
    assert "debug: retry after attempt 1: list failed: token=[redacted] and [redacted]" in err, err
    assert "k3y-VALUE-42" not in err + str(raised.value)
    assert "hf_env_VALUE_7" not in err + str(raised.value)
    assert Secrets().redact(echoed) == echoed  # another command's Secrets knows none of them


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    result = CliRunner().invoke(main, ["completion", shell])
    assert result.exit_code == 0
    assert "_YOTTACTL_COMPLETE" in result.output and f"{shell}_complete" in result.output


def complete(cli: Cli, words: str) -> list[str]:
    """What bash completion offers for ``words`` (the last one being completed)."""
    parts = words.split(" ")
    env: dict[str, Any] = {**cli.env, "_YOTTACTL_COMPLETE": "bash_complete",
                           "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)}
    result = CliRunner().invoke(main, [], env=env, prog_name="yottactl")
    return [line.split(",", 1)[1] for line in result.output.splitlines() if line]


def test_completion_offers_managed_names_from_the_state(cli: Cli) -> None:
    for name in ("llama-inference", "llama-batch", "comfy"):
        cli.write(name)
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    cli.server.stop()  # completion reads the state only, never the API
    for words in ("yottactl get llama", "yottactl workers llama", "yottactl logs llama",
                  "yottactl wait llama", "yottactl plan --target llama",
                  "yottactl apply --target llama", "yottactl state show llama",
                  "yottactl state rm llama", "yottactl state mv llama"):
        assert complete(cli, words) == ["llama-batch", "llama-inference"], words
    assert complete(cli, "yottactl get ") == ["comfy", "llama-batch", "llama-inference"]
    assert complete(cli, "yottactl get zzz") == []


def test_completion_without_a_state_completes_nothing(cli: Cli) -> None:
    assert not cli.state.exists()
    assert complete(cli, "yottactl get ll") == []
    cli.state.parent.mkdir(parents=True, exist_ok=True)
    cli.state.write_text("{not json")  # a broken state must not break the shell
    assert complete(cli, "yottactl get ll") == []


def test_installed_script_completes_through_the_real_entry_point(cli: Cli) -> None:
    cli.write("llama")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    result = cli.subprocess(env={"_YOTTACTL_COMPLETE": "bash_complete",
                                 "COMP_WORDS": "yottactl get ll", "COMP_CWORD": "2"})
    assert result.returncode == 0 and result.stdout.splitlines() == ["plain,llama"], result
