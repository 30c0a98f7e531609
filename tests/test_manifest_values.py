"""Manifests mean exactly what they say: env values as written, strict types, ${env:...} in
number fields, anchored names, hostile paths, a cap on errors per file."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.emulator.server import EmulatorServer
from reconciler.errors import ManifestError
from reconciler.manifest.loader import MAX_ISSUES_PER_FILE, load

from conftest import API_KEY, create_body

BASE = """\
apiVersion: yottactl/v1
kind: ElasticDeployment
metadata:
  name: {name}
spec:
  image: vllm/vllm-openai:v0.6.3
  resources:
    - {{region: us-east-1, gpuType: NVIDIA_H100_80G, gpuCount: {gpus}}}
  workers: {workers}
  containerVolumeInGb: 50
  serviceMode: QUEUE
"""


def write(tmp_path: Path, extra: str = "", *, name: str = "svc", workers: str = "1",
          gpus: str = "1") -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(BASE.format(name=name, workers=workers, gpus=gpus) + extra)
    return path


def env_of(path: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    [d] = load([str(path)], environ or {})
    return {e.key: e.value for e in d.manifest.spec.environmentVars}


def issues_of(path: Path, environ: dict[str, str] | None = None, **kw: bool) -> list[str]:
    with pytest.raises(ManifestError) as err:
        load([str(path)], environ or {}, **kw)
    return [f"{i.path}: {i.message} | {i.hint}" for i in err.value.issues]


AS_WRITTEN = ["3.10", "01234", "017", "1e3", "0x1F", ".5", "+1", "1_000", "8000", "-0", "0o17",
              "1.0e+3", ".inf", "2026-01-02", "abc"]


@pytest.mark.parametrize("text", AS_WRITTEN)
def test_plain_env_values_are_sent_as_written(tmp_path: Path, text: str) -> None:
    mapping = write(tmp_path, f"  environmentVars:\n    V: {text}\n")
    assert env_of(mapping) == {"V": text}
    listed = write(tmp_path, f"  environmentVars:\n    - {{key: V, value: {text}}}\n"
                             f"    - key: W\n      value: {text}\n")
    assert env_of(listed) == {"V": text, "W": text}


def test_only_environment_values_keep_their_text(tmp_path: Path) -> None:
    # elsewhere the YAML 1.2 meaning stands: workers: 0x2 is the number 2
    path = write(tmp_path, "  environmentVars:\n    PYVER: 3.10\n", workers="0x2")
    [d] = load([str(path)], {})
    assert d.manifest.spec.workers == 2
    assert d.manifest.spec.environmentVars[0].value == "3.10"


@pytest.mark.parametrize("word", ["~", "null", "NULL", ""])
def test_null_env_values_are_errors_that_say_to_quote(tmp_path: Path, word: str) -> None:
    [issue] = issues_of(write(tmp_path, f"  environmentVars:\n    V: {word}\n"))
    assert "null (~, null or no value) is not a string" in issue and "quote it" in issue


@pytest.mark.parametrize("word", ["true", "False", "yes", "No", "on", "OFF"])
def test_boolean_env_values_are_errors_that_say_to_quote(tmp_path: Path, word: str) -> None:
    [issue] = issues_of(write(tmp_path, f"  environmentVars:\n    - {{key: V, value: {word}}}\n"))
    assert f"{word} is a boolean in YAML, not a string" in issue and "quote it" in issue
    quoted = write(tmp_path, f'  environmentVars:\n    V: "{word}"\n')
    assert env_of(quoted) == {"V": word}


def test_env_variable_fills_number_fields(tmp_path: Path) -> None:
    path = write(tmp_path, workers="${env:WORKERS}", gpus='"${env:GPUS}"')
    [d] = load([str(path)], {"WORKERS": "3", "GPUS": "2"})
    assert d.manifest.spec.workers == 3 and d.manifest.spec.resources[0].gpuCount == 2
    assert "workers" in d.sensitive
    [issue] = issues_of(path, {"WORKERS": "three-secret", "GPUS": "2"})
    assert "${env:WORKERS} is not a whole number" in issue
    assert "three-secret" not in issue  # values from the environment are never echoed


def test_skip_env_accepts_unset_variables_in_number_fields(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "  credentialId: ${env:CRED}\n", workers="${env:WORKERS}",
                 gpus='"${env:GPUS}"')
    assert len(load([str(path)], {}, require_env=False)) == 1
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", "--skip-env", str(path)],
                                env={"WORKERS": None, "GPUS": None, "CRED": None})
    assert result.exit_code == 0, result.output + result.stderr
    assert result.output == "1 deployment valid\n"
    strict = CliRunner().invoke(main, ["validate", str(path)], env={"WORKERS": None})
    assert strict.exit_code == 1 and "'WORKERS' is not set" in strict.stderr
    assert "unable to parse" not in strict.stderr  # one error per problem


def test_strict_types(tmp_path: Path) -> None:
    for workers, gpus in (("true", "1"), ('"2"', "1"), ("1", "true"), ("2.0", "1")):
        issues = issues_of(write(tmp_path, workers=workers, gpus=gpus))
        assert len(issues) == 1 and "valid integer" in issues[0], (workers, gpus, issues)


def test_name_with_trailing_newline_is_refused(tmp_path: Path) -> None:
    [issue] = issues_of(write(tmp_path, name='"abc\\n"'))
    assert issue.startswith("metadata.name: 'abc\\n' is not a valid deployment name")


def test_emulator_refuses_a_name_with_a_trailing_newline(emulator: EmulatorServer) -> None:
    url = f"{emulator.url}/openapi/v1/elastic/deploy/create"
    bad = httpx.post(url, json=create_body("abc\n"), headers={"X-Api-Key": API_KEY}).json()
    assert bad["code"] == 10001 and "name" in bad["message"]
    good = httpx.post(url, json=create_body("abc"), headers={"X-Api-Key": API_KEY}).json()
    assert good["code"] == 10000  # precondition: the same body with a clean name is created


def test_name_from_env_is_refused_even_when_set(tmp_path: Path) -> None:
    path = write(tmp_path, name="${env:NAME}")
    for environ, kw in (({"NAME": "svc"}, {}), ({}, {"require_env": False})):
        issues = issues_of(path, environ, **kw)
        assert any("a name cannot come from ${env:...}" in i for i in issues), issues


def test_empty_variable_says_set_but_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "  environmentVars:\n    TOKEN: ${env:HF_TOKEN}\n")
    [issue] = issues_of(path, {"HF_TOKEN": ""})
    assert "HF_TOKEN is set but empty" in issue and "at least 1 character" not in issue
    assert len(load([str(path)], {"HF_TOKEN": ""}, require_env=False)) == 1


def test_field_errors_and_cross_field_rules_in_one_run(tmp_path: Path) -> None:
    text = BASE.format(name="svc", workers="0", gpus="1").replace(
        "serviceMode: QUEUE", "serviceMode: ALB")
    text = text.replace("    - {region", "    - {region: us-east-2, gpuType: NVIDIA_H100_80G, "
                                        "gpuCount: 2}\n    - {region")
    path = tmp_path / "m.yaml"
    path.write_text(text)
    issues = issues_of(path)
    assert len(issues) == 3, issues
    assert any("same gpuCount" in i for i in issues)
    assert any("ALB requires expose" in i for i in issues)
    assert any(i.startswith("spec.workers:") for i in issues)


def test_at_most_50_errors_per_file_then_a_count(tmp_path: Path) -> None:
    extra = "".join(f"  unknown{i}: 1\n" for i in range(20_000))
    path = write(tmp_path, extra)
    started = time.perf_counter()
    with pytest.raises(ManifestError) as err:
        load([str(path)], {})
    elapsed = time.perf_counter() - started
    issues = err.value.issues
    assert len(issues) == MAX_ISSUES_PER_FILE + 1
    assert issues[-1].message == f"… and {20_000 - MAX_ISSUES_PER_FILE} more errors"
    assert elapsed < 10, elapsed  # was ~20 s: every error got a position from a slow re-read


def test_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    write(tmp_path)  # a good file beside it is still read
    with pytest.raises(ManifestError) as err:
        load([str(tmp_path)], {})
    [issue] = err.value.issues
    assert issue.file == str(fifo) and "not a regular file: a named pipe" in issue.message


def test_symlink_to_dev_zero_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    with pytest.raises(ManifestError) as err:
        load([str(link)], {})
    assert "not a regular file: a character device" in err.value.issues[0].message


def test_size_cap_is_enforced_while_reading(tmp_path: Path) -> None:
    # /proc files report st_size 0 whatever they hold; a regular file that grows after stat
    # is the same risk. Here: a sparse regular file just over the cap.
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(10 * 1024 * 1024 + 1)
    with pytest.raises(ManifestError) as err:
        load([str(big)], {})
    assert "larger than 10 MiB" in err.value.issues[0].message


def test_a_file_whose_size_says_zero_is_still_read_whole(tmp_path: Path) -> None:
    """/proc files report st_size 0 whatever they hold: the read is sized by st_size (+1), so
    a short read must not be taken for the whole file. /proc/self/cmdline holds NUL bytes
    after its first word: read whole, it is a binary file; cut at one byte, a YAML scalar."""
    source = Path("/proc/self/cmdline")
    assert source.stat().st_size == 0 and b"\x00" in source.read_bytes()  # precondition
    link = tmp_path / "cmdline.yaml"
    link.symlink_to(source)
    with pytest.raises(ManifestError) as err:
        load([str(link)], {})
    assert "binary file" in err.value.issues[0].message


def test_a_bad_value_from_the_environment_is_named_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, "  credentialId: ${env:CRED}\n")
    [issue] = issues_of(path, {"CRED": "not-a-number-secret"})
    assert "${env:CRED} is not a numeric credential id" in issue, issue
    assert "not-a-number-secret" not in issue and "FromEnv" not in issue
