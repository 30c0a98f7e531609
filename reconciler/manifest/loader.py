"""Load manifests from files and directories into validated, immutable models.

Reading: :mod:`reconciler.fastyaml` builds plain data from libyaml's C parser events.
Only when something is wrong does :class:`reconciler.manifest.positions.Locator` re-read the
file's parser events to point at the exact line and column.
All problems in all files are collected and raised together as one :class:`ManifestError`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from reconciler import fastyaml, simpleyaml
from reconciler.catalog import Catalog, builtin_catalog
from reconciler.errors import ManifestError, ManifestIssue
from reconciler.fields import field_path
from reconciler.manifest.commands import resolve_program
from reconciler.manifest.discovery import discover
from reconciler.manifest.interpolate import (
    MAX_DEPTH,
    DocumentTooComplex,
    Growth,
    Interpolated,
    Variable,
    interpolate,
    valid_name,
)
from reconciler.manifest.positions import Loc, Locator, describe_validation_error
from reconciler.manifest.reading import decode, read_ahead
from reconciler.manifest.schema import RULE_ERROR, DesiredDeployment, Manifest, rule_violations
from reconciler.redact import Secrets

if TYPE_CHECKING:
    from reconciler.manifest.overlay import OverlaySet

MAX_ISSUES_PER_FILE = 50  # a generated file with 100,000 bad keys is refused in well under a second
T = TypeVar("T")


@dataclass
class Rendering:
    """What a project adds to loading: ``${var:...}`` values and an environment's overlays in;
    the variables used and (for `yottactl render`) the final documents out."""

    variables: Mapping[str, Variable] = field(default_factory=dict)
    overlays: OverlaySet | None = None
    used: set[str] = field(default_factory=set)
    documents: list[tuple[str, int, dict[str, object]]] | None = None  # kept when not None
    project_root: Path | None = None  # the folder of yottactl.yaml: where walked links may lead
    # the API version's own rules (manifest/versions.py): (location, message, hint) for each
    rules: Callable[[Manifest], list[tuple[Loc, str, str]]] | None = None
    name_hint: str = ""  # the version's naming rule, when a name breaks the schema's pattern
    # the ${env:...} values substituted, out: the command's secrets (reconciler/redact.py)
    secrets: Secrets = field(default_factory=Secrets)
    catalog: Catalog = field(default_factory=builtin_catalog)  # the command's GPU types, regions


class _FileLoader:
    """Everything about one file: parse, per-document checks, validation, positions."""

    def __init__(self, path: str, text: str, environ: Mapping[str, str], require_env: bool,
                 rendering: Rendering | None = None) -> None:
        self.path, self.text, self.environ = path, text, environ
        self.require_env = require_env
        self.issues: list[ManifestIssue] = []
        self.omitted = 0  # errors beyond MAX_ISSUES_PER_FILE, counted but not described
        self.locator = Locator(path, text)
        self.rendering = rendering or Rendering()
        self._merged: dict[int, object] = {}  # document index -> document after overlays
        self.growth = Growth()  # what variables add to this file, over all its documents

    def load(self) -> list[DesiredDeployment]:
        try:
            # the plain manifest shape without a parser; anything else goes to the full reader
            documents = simpleyaml.load_simple(self.text) or fastyaml.load_all(self.text, MAX_DEPTH)
        except fastyaml.YamlStructureError as exc:
            self.issues.append(ManifestIssue(self.path, exc.line, exc.column, "", str(exc), exc.hint))
            return []
        except Exception as exc:  # ruamel's error classes: translated here, at the boundary
            self.issues.append(fastyaml.yaml_issue(self.path, self.text, exc))
            return []
        out = []
        for index, document in enumerate(documents):
            if document is None:
                continue  # empty documents (a stray ---) are ignored
            if len(self.issues) >= MAX_ISSUES_PER_FILE:
                self.omitted += 1  # at least one more (not validated further)
                continue
            before = len(self.issues)
            loaded = self._document(index, document)
            if loaded is not None and len(self.issues) == before:
                out.append(loaded)
        if len(self.issues) > MAX_ISSUES_PER_FILE:
            self.omitted += len(self.issues) - MAX_ISSUES_PER_FILE
            self.issues = sorted(self.issues)[:MAX_ISSUES_PER_FILE]
        if self.omitted:
            last = max(self.issues)
            self.issues.append(ManifestIssue(
                self.path, last.line, last.column + 1, "", f"… and {self.omitted} more errors",
                f"only the first {MAX_ISSUES_PER_FILE} errors of a file are listed: fix these "
                "and validate again"))
        return out

    def _issue(self, index: int, loc: Loc, message: str, hint: str = "",
               key: bool = False) -> None:
        overlays = self.rendering.overlays
        if overlays is not None and index in self._merged:  # the value may come from an overlay
            file, line, col = overlays.locate(
                self.path, index, loc, key,
                lambda at, k: self.locator.position(index, at, key=k), self._merged[index])
        else:
            file = self.path
            line, col = self.locator.position(index, loc, key=key)
        path = field_path(loc)
        self.issues.append(ManifestIssue(file, line, col, path, message, hint))

    def _variable_issues(self, index: int, result: Interpolated) -> None:
        known = self.rendering.variables
        for loc, name in result.undefined:
            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
            defined = f"defined: {', '.join(sorted(known))}" if known else "no variables are defined"
            self._issue(index, loc, f"variable {name!r} is not defined",
                        (f"did you mean {close[0]!r}? " if close else "") + defined + "; set it in "
                        f"yottactl.yaml `variables:`, --var {name}=..., --var-file or "
                        f"YOTTACTL_VAR_{name}")
        for loc, name in result.not_scalar:
            self._issue(index, loc, f"variable {name!r} holds a list or mapping",
                        f"use it as the whole value (`${{var:{name}}}`), not inside text")

    def _from_variable(self, result: Interpolated, loc: Loc) -> str:
        """' (value from ${var:X} = ..., set in SOURCE)' when ``loc`` holds a variable's value."""
        if not result.from_variable:
            return ""
        from reconciler.manifest.overlay import by_key

        named = by_key(result.value, loc)
        for cut in range(len(named), 0, -1):
            name = result.from_variable.get(named[:cut])
            if name is not None:
                variable = self.rendering.variables[name]
                return (f" (value from ${{var:{name}}} = {variable.value!r}, set in "
                        f"{variable.source})")
        return ""

    def _document(self, index: int, document: object) -> DesiredDeployment | None:
        if not isinstance(document, dict):
            kind = "list" if isinstance(document, list) else "scalar"
            self._issue(index, (), f"document is a {kind}; expected a mapping",
                        "a manifest has apiVersion, kind, metadata and spec keys")
            return None
        rendering = self.rendering
        if rendering.overlays is not None:
            merged = rendering.overlays.apply(document, self.path, index)
            if merged is not document:
                self._merged[index] = document = merged
        try:
            result = interpolate(document, self.environ, rendering.variables, self.growth)
        except DocumentTooComplex as exc:
            self._issue(index, exc.path, str(exc),
                        "remove YAML anchors/aliases, deep nesting or generated keys"
                        if "${" not in str(exc) else
                        "use smaller variables, or name them in fewer places")
            return None
        rendering.used |= result.used
        rendering.secrets.update(result.env_values)
        self._variable_issues(index, result)
        name_loc = ("metadata", "name")
        if name_loc in result.sensitive or any(loc == name_loc for loc, _ in
                                               result.missing + result.empty):
            self._issue(index, name_loc, "a name cannot come from ${env:...}: it is the "
                        "deployment's identity, not a secret",
                        "write the name itself, e.g. name: llama-inference")
        secret_locs = {*result.sensitive, *(loc for loc, _ in result.missing + result.empty)}
        for loc in sorted((loc for loc in secret_locs if loc[:1] == ("lifecycle",)), key=str):
            self._issue(index, loc, "lifecycle settings cannot read ${env:...}: the cutover and "
                        "probe come from a file a pull request can edit, so they never receive "
                        "secret values",
                        "let the cutover command read its own credentials (it runs with a "
                        "minimal environment), or put a token in the webhook's receiving end")
        for loc, name in result.credentials:
            self._issue(index, loc, f"${{env:{name}}} is yottactl's own credential: a manifest "
                        "cannot read it (it would reach the deployment, and whoever wrote this file)",
                        "if a deployment really needs it, export it under another name for it")
        if not self.require_env:  # structure only, but a malformed ${env:...} is structure
            result.missing[:] = [(loc, name) for loc, name in result.missing if not valid_name(name)]
            result.empty.clear()
        for loc, name in result.missing:
            if not valid_name(name):
                self._issue(index, loc, f"${{env:{name}}} is not a valid variable name",
                            "names use letters, digits and _, and do not start with a digit")
                continue
            self._issue(index, loc, f"environment variable {name!r} is not set",
                        f"export {name}=... before running (secrets come from the environment); "
                        "write $${ for a literal ${")
        for loc, name in result.empty:
            self._issue(index, loc, f"{name} is set but empty",
                        "CI gives pull requests from forks and Dependabot empty secrets: set a "
                        "value, or check structure only with `yottactl validate --skip-env`")
        try:
            manifest = Manifest.model_validate(result.value, context={"catalog": rendering.catalog})
        except ValidationError as exc:
            self._field_errors(index, exc, result)
            return None
        if result.missing or result.empty or result.undefined or result.not_scalar or \
                result.credentials or self.issues:
            return None
        resolved = self._cutover_program(index, manifest)
        problems = rendering.rules(resolved) if resolved and rendering.rules else []
        for loc, message, hint in problems:
            self._issue(index, loc, message, hint)
        if resolved is None or problems:
            return None
        if rendering.documents is not None:
            rendering.documents.append((self.path, index, _with_templates(result)))
        names = {p: _spec_path(p, result.value) for p in result.sensitive}
        return DesiredDeployment(resolved, self.path, index, frozenset(n for n in names.values() if n),
                                 {names[p]: t for p, t in result.templates.items() if names[p]})

    def _cutover_program(self, index: int, manifest: Manifest) -> Manifest | None:
        """The manifest with a relative cutover program resolved (manifest/commands.py);
        None when it is missing, not executable or outside the project (an issue recorded)."""
        cutover = manifest.lifecycle.cutover
        if cutover is None or not cutover.command:
            return manifest
        base = self.rendering.project_root or Path(self.path).parent
        program, problem = resolve_program(cutover.command[0], base)
        if problem is not None:
            self._issue(index, ("lifecycle", "cutover", "command", 0), *problem)
            return None
        command = (program, *cutover.command[1:])
        return manifest.model_copy(update={"lifecycle": manifest.lifecycle.model_copy(
            update={"cutover": cutover.model_copy(update={"command": command})})})

    def _field_errors(self, index: int, exc: ValidationError, result: Interpolated) -> None:
        """Every field error, then every cross-field rule (also when fields are wrong)."""
        document = result.value
        errors = [e for e in exc.errors() if e["type"] != RULE_ERROR]
        for error in errors:  # the manifest-wide rule (schema.Manifest) is about the probe
            if error["type"] == "lifecycle_rule":
                error["loc"] = ("lifecycle", "probe")
        spec = document.get("spec") if isinstance(document, dict) else None
        errors += [ErrorDetails(loc=("spec",), type=RULE_ERROR, msg=f"{field}: {message}", input=spec)
                   for field, message in rule_violations(spec)]
        deeper = [tuple(e["loc"]) for e in errors]
        for error in errors:
            if len(self.issues) >= MAX_ISSUES_PER_FILE:
                break  # load() says how many more; describing 100,000 errors takes seconds
            here = tuple(error["loc"])
            if error["type"] == "too_short" and any(
                d[: len(here)] == here and d != here for d in deeper
            ):
                continue  # "0 items after validation" only echoes the item errors
            loc, message, hint, at_key = describe_validation_error(error, document,
                                                                   self.rendering.name_hint)
            self._issue(index, loc, message + self._from_variable(result, loc), hint, key=at_key)
        self.omitted += max(0, len(errors) - MAX_ISSUES_PER_FILE)


def _with_templates(result: Interpolated) -> dict[str, object]:
    """The final document as a manifest again: secrets back to their ``${env:...}`` text,
    literal ``${`` escaped, so `yottactl render` output can be read back."""

    def walk(node: object, path: Loc) -> object:
        if isinstance(node, dict):
            return {k: walk(v, (*path, str(k))) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, (*path, i)) for i, v in enumerate(node)]
        if path in result.env_templates:
            return result.env_templates[path]
        return node.replace("${", "$${") if isinstance(node, str) else node

    out = walk(result.value, ())
    assert isinstance(out, dict)  # a manifest document is a mapping (validated before this)
    return out



def _spec_path(path: Loc, document: object) -> str:
    """The essence path of a document path: env vars by key, whichever form the YAML used."""
    if len(path) < 2 or path[0] != "spec":
        return ""
    rest = path[1:]
    if rest[0] == "environmentVars" and len(rest) > 1:
        spec = document.get("spec") if isinstance(document, dict) else None
        env = spec.get("environmentVars") if isinstance(spec, dict) else None
        key = env[rest[1]]["key"] if isinstance(env, list) and isinstance(rest[1], int) else rest[1]
        return f"environmentVars.{key}"
    return ".".join(str(p) for p in rest)


def load(
    paths: Sequence[str], environ: Mapping[str, str] | None = None, *, require_env: bool = True,
    rendering: Rendering | None = None,
) -> list[DesiredDeployment]:
    """Every deployment in ``paths``; raises :class:`ManifestError` listing all problems.

    ``require_env=False`` accepts unset ``${env:...}`` variables (structure-only checks).
    ``rendering`` supplies variables and overlays (a project's environment).
    """
    return load_each(paths, _itself, environ, require_env=require_env, rendering=rendering)


def _itself(item: DesiredDeployment) -> DesiredDeployment:
    return item


def load_each(
    paths: Sequence[str], keep: Callable[[DesiredDeployment], T],
    environ: Mapping[str, str] | None = None, *, require_env: bool = True,
    rendering: Rendering | None = None,
) -> list[T]:
    """:func:`load`, each deployment handed to ``keep`` as soon as it is validated and only
    ``keep``'s result kept: a plan of 10,000 manifests holds their essences, not 10,000
    manifest models (~4 KB each)."""
    env = os.environ if environ is None else environ
    loaded: list[T] = []
    names: list[tuple[str, str, int]] = []  # (name, file, document index) for duplicate checks
    locators: dict[str, Locator] = {}
    files, issues = discover(paths, rendering.project_root if rendering is not None else None)
    for file, data, problem in read_ahead(files):
        name = str(file)
        if data is None:
            issues.append(problem)  # type: ignore[arg-type]
            continue
        text, problem = decode(name, data)
        if problem is not None or text is None:
            issues.append(problem)  # type: ignore[arg-type]
            continue
        one = _FileLoader(name, text, env, require_env, rendering)
        for item in one.load():
            names.append((item.name, item.file, item.index))
            loaded.append(keep(item))
        issues.extend(one.issues)
        locators[name] = one.locator
    issues.extend(_duplicate_names(names, locators))
    if rendering is not None and rendering.overlays is not None:
        issues.extend(rendering.overlays.issues)
        issues.extend(rendering.overlays.unmatched())
    if issues:
        raise ManifestError(issues)
    return loaded


def _duplicate_names(
    names: list[tuple[str, str, int]], locators: dict[str, Locator]
) -> list[ManifestIssue]:
    by_name: dict[str, list[tuple[str, int]]] = {}
    for name, file, index in names:
        by_name.setdefault(name, []).append((file, index))
    issues = []
    for name, group in by_name.items():
        if len(group) < 2:
            continue
        where = []
        for file, index in group:
            line, col = locators[file].position(index, ("metadata", "name"))
            where.append((file, line, col))
        for file, line, col in where:
            others = ", ".join(f"{f}:{ln}:{c}" for f, ln, c in where if (f, ln, c) != (file, line, col))
            issues.append(ManifestIssue(file, line, col, "metadata.name",
                                        f"name {name!r} is used twice (also at {others})",
                                        "deployment names are identities: make each unique"))
    return issues
