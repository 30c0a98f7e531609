"""Runs a GitHub Actions workflow's jobs locally, as the runner would, for the recipe tests.

What is real: every `run:` step executes in bash (`-eo pipefail`, as GitHub's default shell) in a
fresh copy of the repository per job, with GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_REPOSITORY
and the step's `env:` evaluated from `${{ }}` expressions (secrets, matrix, steps, needs, github);
`if:` conditions, `continue-on-error`, job `needs`/`outputs` and `strategy.matrix` are honoured.
What is simulated: `actions/checkout` (the copy is the checkout), `actions/setup-python` (the
test's Python), `upload-artifact`/`download-artifact` (a folder), and the step named "Install
yottactl" (the test's yottactl is already on PATH). Unknown expressions or actions fail loudly.
Secrets are scoped as GitHub scopes them: repository-wide ones (`secrets`) reach every job, an
environment's (`environments`) only the jobs that name it in `environment:`. A run given the
files it changed (`changed`) starts only if the event's `paths` filter matches one of them.
"""

from __future__ import annotations

import fnmatch
import itertools
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+)|(?P<op>==|!=|&&|\|\||!|\(|\)|,)"
                   r"|(?P<name>[A-Za-z_][\w.\-]*))")


class Expr:
    """A recursive-descent evaluator for the subset of the expression language the recipes use."""

    def __init__(self, text: str, context: dict[str, Any], status: Callable[[str], bool]) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text.rstrip()):
            match = TOKEN.match(text, pos)
            if not match:
                raise ValueError(f"unsupported expression: {text!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.context, self.status, self.i = context, status, 0

    def value(self) -> Any:
        result = self._or()
        if self.i != len(self.tokens):
            raise ValueError(f"unsupported expression near {self.tokens[self.i:]}")
        return result

    def _peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def _or(self) -> Any:
        left = self._and()
        while self._peek() == "||":
            self.i += 1
            right = self._and()
            left = left or right
        return left

    def _and(self) -> Any:
        left = self._cmp()
        while self._peek() == "&&":
            self.i += 1
            right = self._cmp()
            left = left and right
        return left

    def _cmp(self) -> Any:
        left = self._unary()
        while self._peek() in ("==", "!="):
            op = self.tokens[self.i][1]
            self.i += 1
            right = self._unary()
            equal = str(left).lower() == str(right).lower()  # GitHub compares strings loosely
            left = equal if op == "==" else not equal
        return left

    def _unary(self) -> Any:
        if self._peek() == "!":
            self.i += 1
            return not self._unary()
        if self._peek() == "(":
            self.i += 1
            inner = self._or()
            self.i += 1
            return inner
        kind, text = self.tokens[self.i]
        self.i += 1
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return int(text)
        if text in ("true", "false"):
            return text == "true"
        if self._peek() == "(":  # status functions: always(), success(), failure(), cancelled()
            self.i += 2
            return self.status(text)
        node: Any = self.context
        for part in text.split("."):
            node = node.get(part, "") if isinstance(node, dict) else ""
        return node


def evaluate(text: Any, context: dict[str, Any], status: Callable[[str], bool]) -> Any:
    """A value with `${{ }}` parts substituted (a lone expression keeps its type)."""
    if not isinstance(text, str):
        return text
    whole = re.fullmatch(r"\$\{\{((?:(?!\}\}).)*)\}\}", text.strip())
    if whole:
        return Expr(whole.group(1), context, status).value()
    return re.sub(r"\$\{\{(.*?)\}\}",
                  lambda m: str(Expr(m.group(1), context, status).value()), text)


@dataclass
class StepResult:
    name: str
    outcome: str  # success | failure | skipped
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""


@dataclass
class JobRun:
    name: str
    matrix: dict[str, Any]
    result: str
    steps: list[StepResult]
    outputs: dict[str, str]
    workspace: Path
    summary: str


@dataclass
class Runner:
    """One workflow run: `repo` is the checkout, `tools` a folder put first on PATH (fake gh)."""

    workflow_path: Path
    repo: Path
    work: Path
    tools: Path
    secrets: dict[str, str]
    github: dict[str, Any]
    base_env: dict[str, str]
    jobs: list[JobRun] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # the `vars` context
    environments: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> its secrets
    event_name: str = ""  # with `changed`: the trigger whose `paths` filter is checked
    changed: list[str] | None = None  # the files the triggering push/pull request changed

    def __post_init__(self) -> None:
        self.workflow = YAML(typ="safe").load(self.workflow_path.read_text())
        self.artifacts = self.work / "artifacts"
        self.artifacts.mkdir(parents=True, exist_ok=True)

    def triggered(self) -> bool:
        """Whether the event starts this workflow: its `paths` filter (GitHub's glob syntax)
        matches a changed file; no filter, or no list of changes, always starts it."""
        if self.changed is None:
            return True
        trigger = (self.workflow.get("on") or self.workflow.get(True) or {}).get(self.event_name)
        if trigger is None:
            return False
        patterns = (trigger or {}).get("paths")
        return patterns is None or any(path_matches(f, p) for f in self.changed for p in patterns)

    def run(self) -> dict[str, str]:
        """Run every job in `needs` order; the result of each job by name (none if the event's
        path filter does not start the workflow)."""
        if not self.triggered():
            return {}
        results: dict[str, str] = {}
        needs_ctx: dict[str, Any] = {}
        pending = dict(self.workflow["jobs"])
        while pending:
            ready = [n for n, j in pending.items() if set(self._needs(j)) <= set(results)]
            assert ready, f"unsatisfiable needs in {list(pending)}"
            for name in ready:
                job = pending.pop(name)
                needs = {n: needs_ctx[n] for n in self._needs(job)}
                runs = [self._job(name, job, combo, needs) for combo in self._matrix(job)]
                result = ("skipped" if all(r.result == "skipped" for r in runs) else
                          "failure" if any(r.result == "failure" for r in runs) else "success")
                outputs = {k: v for r in runs for k, v in r.outputs.items()}
                results[name] = result
                needs_ctx[name] = {"result": result, "outputs": outputs}
        return results

    @staticmethod
    def _needs(job: dict[str, Any]) -> list[str]:
        needs = job.get("needs", [])
        return [needs] if isinstance(needs, str) else list(needs)

    @staticmethod
    def _matrix(job: dict[str, Any]) -> list[dict[str, Any]]:
        matrix = job.get("strategy", {}).get("matrix", {})
        keys = list(matrix)
        return [dict(zip(keys, values, strict=True)) for values in itertools.product(*matrix.values())]

    def _job(self, name: str, job: dict[str, Any], matrix: dict[str, Any],
             needs: dict[str, Any]) -> JobRun:
        label = name + "".join(f"-{v}" for v in matrix.values())
        workspace = self.work / "jobs" / label
        shutil.copytree(self.repo, workspace)
        context: dict[str, Any] = {"secrets": {}, "github": self.github, "matrix": matrix,
                                   "needs": needs, "vars": self.variables, "steps": {}, "env": {}}
        environment = job.get("environment")
        if isinstance(environment, dict):
            environment = environment.get("name")
        environment = evaluate(environment, context, lambda _: True) if environment else None
        context["secrets"] = {**self.secrets, **self.environments.get(str(environment), {})}
        needs_ok = all(n["result"] == "success" for n in needs.values())
        run = JobRun(label, matrix, "success", [], {}, workspace, "")
        job_status = {"always": True, "success": needs_ok, "failure": not needs_ok,
                      "cancelled": False}
        if not evaluate(condition(job.get("if", "success()")), context, job_status.__getitem__):
            run.result = "skipped"
            self.jobs.append(run)
            return run
        env = dict(self.base_env)
        for scope in (self.workflow.get("env", {}), job.get("env", {})):
            env.update({k: str(evaluate(v, context, job_status.__getitem__))
                        for k, v in scope.items()})
        context["env"] = env
        failed = False
        summary_path = self.work / f"summary-{label}.md"
        summary_path.touch()
        for index, step in enumerate(job["steps"]):
            status = {"always": True, "success": not failed, "failure": failed,
                      "cancelled": False}
            step_name = step.get("name") or step.get("uses") or f"step {index}"
            if not evaluate(condition(step.get("if", "success()")), context, status.__getitem__):
                run.steps.append(StepResult(step_name, "skipped"))
                continue
            step_env = {**env, **{k: str(evaluate(v, context, status.__getitem__))
                                  for k, v in step.get("env", {}).items()}}
            result, outputs = self._step(step, step_name, step_env, workspace, summary_path,
                                         context, status.__getitem__)
            run.steps.append(result)
            if "id" in step:
                context["steps"][step["id"]] = {"outputs": outputs, "outcome": result.outcome}
            if result.outcome == "failure" and not step.get("continue-on-error"):
                failed = True
        run.result = "failure" if failed else "success"
        run.outputs = {k: str(evaluate(v, context, lambda _: True))
                       for k, v in job.get("outputs", {}).items()}
        run.summary = summary_path.read_text()
        self.jobs.append(run)
        return run

    def _step(self, step: dict[str, Any], name: str, env: dict[str, str], workspace: Path,
              summary: Path, context: dict[str, Any],
              status: Callable[[str], bool]) -> tuple[StepResult, dict[str, str]]:
        if "uses" in step:
            inputs = {k: evaluate(v, context, status) for k, v in step.get("with", {}).items()}
            self._action(step["uses"].split("@")[0], inputs, workspace)
            return StepResult(name, "success"), {}
        if name == "Install yottactl":  # the test's own yottactl is on PATH already
            assert "--require-hashes" in step["run"]
            return StepResult(name, "skipped"), {}
        script = self.work / f"step-{len(list(self.work.glob('step-*')))}.sh"
        script.write_text(step["run"])
        output_file = self.work / f"{script.stem}.output"
        output_file.touch()
        env = {**env, "GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(summary),
               "GITHUB_WORKSPACE": str(workspace), "GITHUB_ACTIONS": "true", "CI": "true",
               "GITHUB_REPOSITORY": self.github["repository"], "RUNNER_TEMP": str(self.work),
               "PATH": f"{self.tools}{os.pathsep}{env['PATH']}"}
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=workspace, env=env, capture_output=True, text=True, timeout=300)
        outputs = parse_outputs(output_file.read_text())
        return StepResult(name, "success" if done.returncode == 0 else "failure",
                          done.returncode, done.stdout, done.stderr), outputs

    def _action(self, action: str, inputs: dict[str, Any], workspace: Path) -> None:
        if action in ("actions/checkout", "actions/setup-python"):
            return  # the workspace is a fresh copy of the repository; Python is the test's
        if action == "actions/upload-artifact":
            source = workspace / inputs["path"]
            assert source.exists(), f"upload-artifact: {inputs['path']} does not exist"
            shutil.copytree(source, self.artifacts / inputs["name"], dirs_exist_ok=True)
            return
        if action == "actions/download-artifact":
            target = workspace / inputs.get("path", ".")
            if "name" in inputs:
                assert (self.artifacts / inputs["name"]).exists(), f"no artifact {inputs['name']}"
                shutil.copytree(self.artifacts / inputs["name"], target, dirs_exist_ok=True)
                return
            for artifact in sorted(self.artifacts.iterdir()):
                if fnmatch.fnmatch(artifact.name, inputs.get("pattern", "*")):
                    shutil.copytree(artifact, target / artifact.name, dirs_exist_ok=True)
            return
        raise AssertionError(f"the simulator does not know the action {action}")


def condition(text: str) -> str:
    """An `if:` as one `${{ }}` expression (GitHub accepts it with or without the braces)."""
    text = text.strip()
    return text if text.startswith("${{") else f"${{{{ {text} }}}}"


def path_matches(path: str, pattern: str) -> bool:
    """GitHub's filter glob: `**` any characters, `*` any but `/`, `?` one character."""
    regex, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif pattern[i] == "*":
            regex, i = regex + "[^/]*", i + 1
        elif pattern[i] == "?":
            regex, i = regex + ".", i + 1
        else:
            regex, i = regex + re.escape(pattern[i]), i + 1
    return re.fullmatch(regex, path) is not None


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT lines: NAME=VALUE, or NAME<<DELIMITER ... DELIMITER."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            outputs[key] = "\n".join(iter(lambda: next(lines), delimiter))
        elif "=" in line:
            key, value = line.split("=", 1)
            outputs[key] = value
    return outputs
