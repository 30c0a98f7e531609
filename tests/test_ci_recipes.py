"""The pipeline recipes parse as YAML, call only yottactl commands and flags that exist, and keep
the team rules: pinned actions on a supported runtime, least privilege, secrets only where
yottactl runs and only from a GitHub environment, concurrency, timeouts, a hash-pinned install,
triggers that cover everything yottactl.yaml reads, a release that is reproducible and published
by trusted publishing. (tests/test_ci_recipes_run.py executes their shell steps.)"""

from __future__ import annotations

import functools
import hashlib
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
from ruamel.yaml import YAML

from reconciler.cli import main

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / "examples" / "ci" / "github"
WORKFLOWS = sorted(GITHUB.glob("yottactl-*.yml"))  # every workflow recipe, the release's too
RECIPES = [p for p in WORKFLOWS if p.name != "yottactl-release.yml"]  # a fleet's recipes
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")
# the secrets a yottactl step may see; the webhook URL only in the step that calls it
ENDPOINT_PIN = "${{ vars.YOTTA_API_URL || 'https://api.yottalabs.ai' }}"
YOTTACTL_SECRETS = {"YOTTA_API_KEY", "YOTTA_PLAN_API_KEY", "YOTTACTL_STATE", "HF_TOKEN"}
# the oldest major of each action that runs on Node 24 (GitHub removed Node 20 on 2026-09-16)
NODE24 = {"actions/checkout": 5, "actions/setup-python": 6, "actions/upload-artifact": 6,
          "actions/download-artifact": 7, "actions/attest-build-provenance": 3,
          "pypa/gh-action-pypi-publish": 1}
SHELL_OPERATORS = {">", ">>", "<", "|", "||", "&&", ";", "&", "2>", "(", ")"}


def load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def run_scripts(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["run"]] if isinstance(node.get("run"), str) else []
        return found + [s for v in node.values() for s in run_scripts(v)]
    if isinstance(node, list):
        return [s for v in node for s in run_scripts(v)]
    return []


def invocations(script: str) -> list[list[str]]:
    """Every `yottactl ARGS...` command in a shell script (arguments up to a shell operator)."""
    out = []
    for line in script.replace("\\\n", " ").splitlines():
        if line.strip().startswith("#"):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:  # a quote left open on this line belongs to a multi-line string
            continue
        for i, token in enumerate(tokens):
            if token == "yottactl":
                args = []
                for arg in tokens[i + 1:]:
                    if arg in SHELL_OPERATORS or arg.endswith(">"):
                        break
                    args.append(arg)
                out.append(args)
    return out


def check(args: list[str]) -> None:
    command: click.Command = main
    rest = list(args)
    while isinstance(command, click.Group):
        name = rest.pop(0)
        assert name in command.commands, f"unknown command {name!r}"
        command = command.commands[name]
    known = {opt for p in command.params for opt in getattr(p, "opts", [])}
    for token in rest:
        if token.startswith("-") and token != "-":
            flag = token.split("=")[0]
            assert flag in known, f"{command.name}: unknown flag {flag}"


def steps(workflow: Any) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(name, job, step) for name, job in workflow["jobs"].items() for step in job["steps"]]


def test_the_recipes() -> None:
    assert {p.name for p in RECIPES} == {"yottactl-plan.yml", "yottactl-apply.yml",
                                          "yottactl-drift.yml"}
    assert {p.name for p in (ROOT / "examples" / "ci").rglob("*.yml")} == {
        *(p.name for p in WORKFLOWS), "dependabot.yml"}


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_recipe_calls_real_commands(recipe: Path) -> None:
    workflow = load(recipe)
    assert workflow["jobs"] and "on" in workflow
    calls = [args for script in run_scripts(workflow) for args in invocations(script)]
    assert calls, "a recipe that never calls yottactl"
    for args in calls:
        check(args)
    assert re.search(r"YOTTA_API_KEY: \$\{\{ secrets\.YOTTA_(PLAN_)?API_KEY \}\}",
                     recipe.read_text())  # credentials from the CI secret store


def test_invocations_parser_finds_commands_and_stops_at_operators() -> None:
    script = ('set +e\nyottactl plan --out p.json -o markdown > p.md 2> p.err\n'
              'echo "### yottactl apply failed"\nx=$(yottactl drift --report r.json|tee f)\n'
              'yottactl apply --plan out/plan.json \\\n  --lock-timeout 300 | tee log\n')
    assert invocations(script) == [["plan", "--out", "p.json", "-o", "markdown"],
                                   ["drift", "--report", "r.json"],
                                   ["apply", "--plan", "out/plan.json", "--lock-timeout", "300"]]


@pytest.mark.parametrize("recipe", WORKFLOWS, ids=lambda p: p.name)
def test_recipe_keeps_the_team_rules(recipe: Path) -> None:
    workflow = load(recipe)
    assert workflow["permissions"] == {}, "nothing by default: each job asks for what it needs"
    assert {"group", "cancel-in-progress"} <= set(workflow["concurrency"])
    assert "env" not in workflow or not any("secrets." in str(v) for v in workflow["env"].values())
    lines = recipe.read_text().splitlines()
    for line in lines:
        if line.strip().startswith(("- uses:", "uses:")):
            ref = line.split("uses:", 1)[1].strip()
            assert SHA_PIN.match(ref), f"{recipe.name}: not pinned by commit SHA: {ref}"
            action, major = ref.split("@")[0], int(ref.split("# v")[1].split(".")[0])
            assert major >= NODE24[action], f"{recipe.name}: {ref} runs on a removed Node"
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"{name}: no permissions"
        assert all(v in ("read", "write") for v in job["permissions"].values())
        assert 0 < job["timeout-minutes"] <= 60, f"{name}: no timeout"
        assert "env" not in job or "secrets." not in str(job["env"]), f"{name}: job-wide secret"
        if "secrets." in str(job):  # scoped: only a GitHub environment's jobs see its secrets
            assert job.get("environment"), f"{name}: secrets outside a GitHub environment"
        if "secrets.YOTTA_API_KEY" in str(job):  # the key that applies: the apply job's only
            assert job["environment"] == "prod" and "pull_request" not in workflow["on"], name
    for name, _job, step in steps(workflow):
        script = step.get("run", "")
        assert "${{" not in script, f"{name}: expression inside a script (use env:)"
        secrets = set(re.findall(r"secrets\.(\w+)", str(step.get("env", {}))))
        if secrets - {"DRIFT_WEBHOOK_URL"}:
            assert secrets <= YOTTACTL_SECRETS and invocations(script), \
                f"{name}: secrets {secrets} on a step that does not run yottactl"
        if "YOTTA_API_KEY" in step.get("env", {}):  # where the key and state go: the workflow's
            env = step["env"]
            assert env.get("YOTTA_API_URL") == ENDPOINT_PIN, f"{name}: endpoint not pinned"
            assert env.get("YOTTACTL_STATE") == "${{ secrets.YOTTACTL_STATE }}", name
            assert "CI" not in env and "YOTTACTL_ALLOWED_STATES" not in env, name
        if "DRIFT_WEBHOOK_URL" in secrets:
            assert step["continue-on-error"] is True and "curl" in script
        if "pip install" in script:
            assert not secrets and "--require-hashes" in script and "--no-deps" in script
        for condition in (step.get("if", ""), _job.get("if", "")):
            assert "always()" not in condition, f"{name}: `!cancelled()`, not always()"
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def pinned_requirements() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from the recipes' requirements.txt."""
    text = (GITHUB / "requirements.txt").read_text().replace("\\\n", " ")
    out = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement, *options = line.split()
            name, version = requirement.split("==")
            out[release_check().canonical(name)] = (version, [o.split(":", 1)[1] for o in options
                                              if o.startswith("--hash=sha256:")])
    return out


@functools.cache
def release_check() -> Any:
    """.ci/release_check.py as a module (it checks the pins' closure on the installed pins)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("release_check", ROOT / ".ci" / "release_check.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_install_is_an_exact_hash_pinned_version_with_its_whole_closure() -> None:
    pins = pinned_requirements()
    for name, (version, hashes) in pins.items():
        assert re.fullmatch(r"[\w.+!-]+", version), name
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name
    assert pins["yotta-reconciler"][0] == tomllib.loads(
        (ROOT / "pyproject.toml").read_text())["project"]["version"]
    [root] = [line for line in (GITHUB / "requirements.in").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert root.startswith("yotta-reconciler[postgres]"), \
        "the recipes keep the state in PostgreSQL: psycopg needed"
    # the closure itself is checked by .ci/release_check.py on the pinned versions' own
    # metadata, where the recipes' install put them (the CI venv holds whatever the index
    # resolves today); it reads the same pins
    checker = release_check()
    assert checker.pinned_versions((GITHUB / "requirements.txt").read_text()) == {
        name: version for name, (version, _) in pins.items()}
    for recipe in RECIPES:
        installs = [s for s in run_scripts(load(recipe)) if "pip install" in s]
        assert installs and set(installs) == {"python -m pip install --no-deps --require-hashes "
                                              "-r .github/yottactl/requirements.txt"}


def test_closure_check_finds_a_missing_an_unaccepted_and_an_unused_pin() -> None:
    closure_problems = release_check().closure_problems
    metadata = {"app": ["lib>=2", "fast; extra == 'speed'", "old; python_version < '3.10'"],
                "lib": ["Tiny_Dep<7,>=6.1"], "tiny-dep": [], "fast": [], "spare": []}
    environment = {"python_version": "3.12", "python_full_version": "3.12.0",
                   "sys_platform": "linux", "platform_system": "Linux",
                   "implementation_name": "cpython"}

    def problems(root: str, pins: dict[str, str]) -> list[str]:
        return closure_problems(root, pins, lambda name: metadata[name], environment)

    whole = {"app": "1", "lib": "2.1", "tiny-dep": "6.2", "fast": "1"}
    assert problems("app[speed]", whole) == []
    assert problems("app[speed]", {**whole, "tiny-dep": "5.2.3"}) == [
        "lib needs Tiny_Dep<7,>=6.1, but tiny-dep==5.2.3 is pinned"]  # the failure CI once met
    assert problems("app[speed]", {k: v for k, v in whole.items() if k != "fast"}) == [
        "app needs fast; extra == \"speed\", which is not pinned"]
    assert problems("app", whole) == ["fast==1 is pinned but nothing needs it"]
    assert problems("app[speed]", {**whole, "spare": "1"}) == [
        "spare==1 is pinned but nothing needs it"]


def test_apply_recipe_plans_gates_and_applies_the_saved_plan() -> None:
    workflow = load(GITHUB / "yottactl-apply.yml")
    assert workflow["concurrency"]["cancel-in-progress"] is False
    plan_job, apply_job = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    plans = [a for s in run_scripts(plan_job) for a in invocations(s)]
    applies = [a for s in run_scripts(apply_job) for a in invocations(s)]
    assert plans == [["plan", "--out", "out/plan.json", "--output", "markdown",
                      "--detailed-exitcode"]]
    assert "GITHUB_STEP_SUMMARY" in " ".join(run_scripts(plan_job))
    assert apply_job["needs"] == "plan" and apply_job["environment"]
    [apply_args] = applies
    assert apply_args[:3] == ["apply", "--plan", "out/plan.json"] and "--lock-timeout" in apply_args
    for recipe in RECIPES:  # the state lives in PostgreSQL: nothing is committed back
        assert not re.search(r"git (add|commit|push)", recipe.read_text()), recipe.name


def test_linters_run_offline_and_catch_a_bad_recipe(tmp_path: Path) -> None:
    zizmor, check_jsonschema = shutil.which("zizmor", path=Path(sys.executable).parent), shutil.which(
        "check-jsonschema", path=Path(sys.executable).parent)
    assert zizmor and check_jsonschema, "install the test extra: zizmor and check-jsonschema"
    recipes = [str(p) for p in sorted(GITHUB.glob("*.yml"))]
    assert str(GITHUB / "dependabot.yml") in recipes  # zizmor audits it too
    for persona in ("pedantic", "auditor"):  # the auditor persona: secrets in environments
        good = subprocess.run([zizmor, "--offline", "--persona", persona, *recipes],
                              capture_output=True, text=True)
        assert good.returncode == 0, persona + good.stdout + good.stderr
    for schema_name, files in (("vendor.github-workflows", [str(p) for p in WORKFLOWS]),
                               ("vendor.dependabot", [str(GITHUB / "dependabot.yml")])):
        schema = subprocess.run([check_jsonschema, "--builtin-schema", schema_name, *files],
                                capture_output=True, text=True)
        assert schema.returncode == 0, schema.stdout + schema.stderr
    bad = tmp_path / "bad.yml"
    text = (GITHUB / "yottactl-plan.yml").read_text()
    bad.write_text(re.sub(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v4", text))
    assert subprocess.run([zizmor, "--offline", str(bad)], capture_output=True).returncode != 0
    bad.write_text(text.replace("timeout-minutes: 15", "timeout-minutes: soon"))
    assert subprocess.run([check_jsonschema, "--builtin-schema", "vendor.github-workflows",
                           str(bad)], capture_output=True).returncode != 0


def test_checker_rejects_unknown_flags() -> None:
    with pytest.raises(AssertionError):
        check(["plan", "--no-such-flag"])
    with pytest.raises(AssertionError):
        check(["frobnicate"])


def test_pre_commit_hook_and_ack_example() -> None:
    hooks = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    [hook] = hooks
    entry = shlex.split(hook["entry"])
    assert entry[0] == "yottactl"
    check(entry[1:])
    from reconciler.report.drift import parse_acks

    acks = YAML(typ="safe").load((ROOT / "examples/ci/drift-acks.yaml").read_text())
    assert parse_acks(acks, "drift-acks.yaml")[0].type == "scaled"


def files_yottactl_yaml_reads(project_file: Path) -> list[str]:
    """Every file the project reads for any environment (its manifests, every environment's
    overlays, the var files of the documented layout), and itself, relative to the project."""
    from reconciler.project import load, resolve

    project = load(project_file)
    base = project_file.parent.resolve()
    read = {project_file.resolve()}
    for name in [None, *project.config.environments]:
        context = resolve(project, name)
        for entry in (*context.manifests, *context.overlays):
            path = Path(entry).resolve()  # relative to the working directory
            read |= set(path.rglob("*.yaml")) if path.is_dir() else {path}
    read |= set((base / "vars").glob("*.yaml"))  # --var-file FILEs, kept under vars/
    return sorted(str(p.relative_to(base)) for p in read)


def test_triggers_and_the_hook_cover_everything_yottactl_yaml_reads() -> None:
    """A merged overlay or var-file change is planned and applied; the hook sees it too."""
    from ghactions import path_matches

    read = files_yottactl_yaml_reads(ROOT / "examples" / "environments" / "yottactl.yaml")
    assert {"overlays/prod.yaml", "vars/release.yaml", "yottactl.yaml"} <= set(read)  # precondition
    assert any(f.startswith("manifests/") for f in read)
    [hook] = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    for recipe, event in (("yottactl-plan.yml", "pull_request"), ("yottactl-apply.yml", "push")):
        patterns = load(GITHUB / recipe)["on"][event]["paths"]
        missed = [f for f in read if not any(path_matches(f, p) for p in patterns)]
        assert not missed, f"{recipe}: a change to {missed} would never run it"
        assert not any(path_matches("README.md", p) for p in patterns)  # a filter, not "**"
        assert any(path_matches(".github/yottactl/requirements.txt", p) for p in patterns)
    assert all(re.search(hook["files"], f) for f in read), hook["files"]
    assert not re.search(hook["files"], "README.md")


def test_the_hook_validates_every_environment(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A prod overlay that only `validate --env prod` rejects fails the pre-commit hook."""
    from click.testing import CliRunner

    project = tmp_path / "fleet"
    shutil.copytree(ROOT / "examples" / "environments", project,
                    ignore=shutil.ignore_patterns("state"))
    overlay = project / "overlays" / "prod.yaml"
    overlay.write_text(overlay.read_text().replace("NVIDIA_H100_80G", "H100"))
    monkeypatch.chdir(project)
    [hook] = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    args = shlex.split(hook["entry"])[1:]

    def validate(*argv: str) -> Any:
        return CliRunner().invoke(main, list(argv), catch_exceptions=False)

    assert validate("validate", "--skip-env").exit_code == 0  # precondition: the base is fine
    assert validate("validate", "--skip-env", "--env", "prod").exit_code == 1  # prod is not
    result = validate(*args)
    assert result.exit_code == 1 and "environment prod:" in result.output, result.output
    assert "overlays/prod.yaml:" in result.output and "valid (environment staging)" in result.output
    overlay.write_text(overlay.read_text().replace("H100", "NVIDIA_H100_80G"))
    assert validate(*args).exit_code == 0


def test_release_recipe_builds_as_ci_proves_and_publishes_without_a_token() -> None:
    """The release builds with the command and SOURCE_DATE_EPOCH that .ci/release_check.py
    proves reproducible, refuses a wheel the recipes do not pin, attests and publishes by
    trusted publishing (OIDC: no password, no secret)."""
    text = (GITHUB / "yottactl-release.yml").read_text()
    release = load(GITHUB / "yottactl-release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}} and "secrets." not in text
    build, publish = release["jobs"]["build"], release["jobs"]["publish"]
    script = " ".join(run_scripts(build))
    check_script = (ROOT / ".ci" / "release_check.py").read_text()
    epoch = "git log -1 --format=%ct -- pyproject.toml README.md LICENSE MANIFEST.in reconciler"
    assert epoch in script and "python -m build --no-isolation" in script
    assert f'"{epoch.split(" -- ")[1].replace(" ", chr(34) + ", " + chr(34))}"' in check_script
    assert '"-m", "build", "--no-isolation"' in check_script
    assert "examples/ci/github/requirements.txt" in script and "sha256sum dist/*.whl" in script
    assert build["permissions"] == {"contents": "read"}
    assert publish["permissions"] == {"id-token": "write", "attestations": "write"}
    assert publish["environment"]["name"] == "pypi" and publish["needs"] == "build"
    uses = [step["uses"].split("@")[0] for step in publish["steps"]]
    assert uses == ["actions/download-artifact", "actions/attest-build-provenance",
                    "pypa/gh-action-pypi-publish"]
    assert "with" not in publish["steps"][-1]  # no password: trusted publishing
    pins = (GITHUB / "build-requirements.txt").read_text().replace("\\\n", " ")
    assert all(re.search(r"==\S+ +--hash=sha256:[0-9a-f]{64}", line)
               for line in pins.splitlines() if line.strip() and not line.startswith("#"))


def test_dependabot_keeps_the_action_pins_and_the_pip_hashes_moving() -> None:
    config = load(GITHUB / "dependabot.yml")
    updates = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    # the recipes say where requirements.txt goes: .github/yottactl/requirements.txt
    assert updates == {("github-actions", "/"), ("pip", "/.github/yottactl")}
    assert all(u["cooldown"]["default-days"] >= 7 for u in config["updates"])
    for recipe in RECIPES:
        assert ".github/yottactl/requirements.txt" in recipe.read_text()


def test_the_release_build_step_publishes_only_the_wheel_the_recipes_pin(tmp_path: Path) -> None:
    """The release recipe's Build step, run in a repository: a wheel the recipes' requirements
    do not pin is refused; pinning its hash in a later commit leaves the wheel's bytes as they
    were (SOURCE_DATE_EPOCH is the last change to the wheel's inputs), so the tag then builds."""
    from test_packaging import tracked_tree

    repo = tracked_tree(tmp_path / "repo")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "release"], check=True)
    [build] = [s["run"] for s in load(GITHUB / "yottactl-release.yml")["jobs"]["build"]["steps"]
               if s.get("name") == "Build"]
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path),
           "TAG": "v" + __import__("reconciler").__version__,
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}

    def run_build() -> subprocess.CompletedProcess[str]:
        shutil.rmtree(repo / "dist", ignore_errors=True)
        return subprocess.run(["bash", "-eo", "pipefail", "-c", build], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=300)

    refused = run_build()
    assert refused.returncode == 1 and "is not the one examples/ci/github/requirements.txt pins" \
        in refused.stdout + refused.stderr, refused.stdout + refused.stderr
    [wheel] = (repo / "dist").glob("*.whl")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    pins = repo / "examples" / "ci" / "github" / "requirements.txt"
    pinned = re.sub(r"(?m)(^yotta-reconciler\S*==\S+ \\\n\s+--hash=sha256:)[0-9a-f]{64}",
                    rf"\g<1>{digest}", pins.read_text())
    assert pinned != pins.read_text()  # precondition: the pin was another hash
    pins.write_text(pinned)
    subprocess.run([*git, "commit", "-q", "-am", "pin the release wheel"], check=True)
    built = run_build()
    assert built.returncode == 0, built.stdout + built.stderr
    assert digest in (tmp_path / "summary.md").read_text()
    env["TAG"] = "v99.0.0"  # a tag that is not the version in pyproject.toml
    wrong = run_build()
    assert wrong.returncode == 1 and "is not v" in wrong.stdout + wrong.stderr
