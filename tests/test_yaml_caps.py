"""Every YAML file yottactl reads has the same alias cap (issue 22): a billion-laughs file fails
fast, in bounded memory, with an error naming file:line:column, whichever reader gets it, and
variables cannot multiply a small manifest into a huge one either."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from conftest import Cli

ROOT = Path(__file__).resolve().parents[1]
# nine aliases of nine aliases ...: 9**9 strings once expanded; line 6 is where the cap is hit
BOMB = (ROOT / "tests" / "manifest_cases" / "billion_laughs.yaml").read_text()
BOMB_AT = ":6:8:"


def project(cli: Cli, text: str) -> None:
    (cli.folder / "yottactl.yaml").write_text(text)


def manifest(cli: Cli) -> list[str]:
    (cli.manifests / "bomb.yaml").write_text(BOMB)
    return ["validate", "manifests"]


def project_variables(cli: Cli) -> list[str]:
    cli.write("svc")
    project(cli, "manifests: manifests\nvariables:\n" + textwrap.indent(BOMB, "  "))
    return ["validate"]


def environment_variables(cli: Cli) -> list[str]:
    cli.write("svc")
    project(cli, "manifests: manifests\nenvironments:\n  prod:\n    variables:\n"
            + textwrap.indent(BOMB, "      "))
    return ["validate", "--env", "prod"]


def var_file(cli: Cli) -> list[str]:
    cli.write("svc")
    (cli.folder / "vars.yaml").write_text(BOMB)
    return ["validate", "manifests", "--var-file", "vars.yaml"]


def overlay(cli: Cli) -> list[str]:
    cli.write("svc")
    (cli.folder / "prod.yaml").write_text(BOMB)
    project(cli, "manifests: manifests\nenvironments:\n  prod:\n    overlays: [prod.yaml]\n")
    return ["validate", "--env", "prod"]


def ack_file(cli: Cli) -> list[str]:
    cli.write("svc")
    (cli.folder / "acks.yaml").write_text(BOMB)
    return ["drift", "manifests", "--ack", "acks.yaml"]


def catalog(cli: Cli) -> list[str]:
    cli.write("svc")
    (cli.folder / "catalog.yaml").write_text(BOMB)
    cli.env["YOTTACTL_CATALOG"] = "catalog.yaml"
    return ["validate", "manifests"]


# reader -> (setup, where the error points: the alias at which the cap is hit)
READERS = {"manifest": (manifest, f"manifests/bomb.yaml{BOMB_AT}"),
           "project variables": (project_variables, "yottactl.yaml:8:10:"),
           "environment variables": (environment_variables, "yottactl.yaml:10:14:"),
           "var file": (var_file, f"vars.yaml{BOMB_AT}"), "overlay": (overlay, f"prod.yaml{BOMB_AT}"),
           "drift ack file": (ack_file, f"acks.yaml{BOMB_AT}"),
           "catalog": (catalog, f"catalog.yaml{BOMB_AT}")}


# the CLI under limits: a reader without the cap must not take the machine down with it
# Its peak memory is the kernel's VmHWM of its own address space, written at exit: ru_maxrss
# would count the forking test worker's pages too (it survives exec)
LIMITED = ("import atexit, os, resource, runpy, sys; "
           "atexit.register(lambda: os.write(2, [l for l in open('/proc/self/status') "
           "if l.startswith('VmHWM')][0].encode())); "
           "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
           "resource.setrlimit(resource.RLIMIT_CPU, (20, 20)); "
           "sys.argv = ['yottactl', *sys.argv[1:]]; runpy.run_module('reconciler', run_name='__main__')")


def run_limited(cli: Cli, args: list[str]) -> tuple[int, str, float, float]:
    """Exit code, stderr, peak memory (MiB) and CPU seconds of one whole yottactl process."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-c", LIMITED, *args], cwd=cli.folder,
                                env={**os.environ, **cli.env}, stdout=subprocess.DEVNULL,
                                stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode()
        peak = re.search(r"^VmHWM:\s+(\d+) kB$", text, re.MULTILINE)
        assert peak, text  # precondition: the child reported its peak
        return (proc.returncode, text, int(peak.group(1)) / 1024,
                usage.ru_utime + usage.ru_stime)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_a_billion_laughs_file_fails_fast_with_its_position(cli: Cli, reader: str) -> None:
    setup, position = READERS[reader]
    code, stderr, peak_mib, cpu = run_limited(cli, setup(cli))
    assert code == 1, (reader, stderr)
    assert position in stderr, stderr
    assert "values once YAML aliases are expanded" in stderr, stderr
    assert "Traceback" not in stderr
    assert peak_mib < 100 and cpu < 5, (peak_mib, cpu)  # start-up and imports included (~35)
    # the summary names what is at fault (R-22 finding 12: a var file's was "1 manifest error");
    # an overlay is manifest-shaped and its errors are listed with the manifests'
    summary = stderr.split("Error: ", 1)[1].split("\n", 1)[0]
    assert ("manifest" in summary) == (reader in ("manifest", "overlay")), summary


@pytest.fixture
def here(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The CLI run in-process from the test's folder (paths in messages are relative)."""
    monkeypatch.chdir(cli.folder)
    return cli


def test_an_alias_inside_the_collection_it_names_is_refused(here: Cli) -> None:
    cli = here
    (cli.manifests / "loop.yaml").write_text("spec: &a\n  workers: 1\n  again: *a\n")
    result = cli("validate", "manifests")
    assert result.exit_code == 1
    assert "manifests/loop.yaml:3:10: alias *a is inside the collection it names" in result.stderr


def manifest_naming(cli: Cli, times: int, value: str) -> None:
    env = "".join(f"    V{i}: {value}\n" for i in range(times))
    (cli.manifests / "svc.yaml").write_text(textwrap.dedent("""\
        apiVersion: yottactl/v1
        kind: ElasticDeployment
        metadata: {name: svc}
        spec:
          image: vllm/vllm-openai:v0.6.3
          resources: [{region: us-east-1, gpuType: NVIDIA_RTX_4090_24G, gpuCount: 1}]
          workers: 1
          containerVolumeInGb: 50
          serviceMode: QUEUE
          environmentVars:
        """) + env)


def test_variables_cannot_multiply_a_small_manifest_into_a_huge_one(here: Cli) -> None:
    cli = here
    # a 600 KB variable inside text 20 times: 12 MB of values from a 1 KB manifest
    (cli.folder / "vars.yaml").write_text(f"big: {'x' * 600_000}\n")
    manifest_naming(cli, 20, '"<${var:big}>"')
    result = cli("validate", "manifests", "--var-file", str(cli.folder / "vars.yaml"))
    assert result.exit_code == 1, result.output
    assert "manifests/svc.yaml:" in result.stderr
    assert "values add more than 10 MiB of text to this file" in result.stderr, result.stderr
    # half as many are a large but honest file: read as before
    manifest_naming(cli, 10, '"<${var:big}>"')
    result = cli("validate", "manifests", "--var-file", str(cli.folder / "vars.yaml"))
    assert result.exit_code == 0, result.output


def test_a_list_variable_named_many_times_counts_every_copy(here: Cli) -> None:
    cli = here
    (cli.folder / "vars.yaml").write_text("many: [" + ", ".join(["1"] * 5_000) + "]\n")
    manifest_naming(cli, 25, "${var:many}")  # 25 copies of 5,001 values
    result = cli("validate", "manifests", "--var-file", str(cli.folder / "vars.yaml"))
    assert result.exit_code == 1
    assert "values add more than 100000 values to this file" in result.stderr, result.stderr
