"""Where ``${var:NAME}`` values come from, lowest precedence first (as in Terraform):

1. the project file's global ``variables``
2. the selected environment's ``variables``
3. ``YOTTACTL_VAR_NAME`` environment variables
4. ``--var-file FILE`` (a YAML mapping) and ``--var NAME=VALUE``, in command-line order

Values from the command line and the environment are read as YAML scalars (``3`` is an
integer, ``true`` a boolean, ``'"3"'`` the string "3") so variables are typed wherever they
come from. Variables are plain values, never secrets: those stay ``${env:...}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.errors import ManifestIssue, UsageError, VarFileError
from reconciler.manifest.interpolate import Variable

ENV_PREFIX = "YOTTACTL_VAR_"
VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def text_of(value: object) -> str:
    """How a YAML value reads inside a longer string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def parse_scalar(raw: str) -> object:
    """A command-line or environment value as YAML would read it (quotes force a string)."""
    from reconciler.fastyaml import _plain

    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return _plain(raw)


def collect(
    sources: Sequence[tuple[Mapping[str, object], str]], cli_vars: Sequence[tuple[str, str]],
    environ: Mapping[str, str] | None = None,
) -> dict[str, Variable]:
    """Every variable with its winning value and where that came from. ``sources``: the project
    file's layers, lowest first, each (values, where) (``project.Context.variable_sources``).
    YOTTACTL_VAR_* are manifest data (like ``${env:...}``), read from the process environment
    by default."""
    if environ is None:
        import os

        environ = os.environ
    out: dict[str, Variable] = {}
    for values, where in sources:
        for name, value in values.items():
            out[name] = Variable(value, text_of(value), where)
    for key in sorted(environ):
        name = key[len(ENV_PREFIX) :]
        if key.startswith(ENV_PREFIX) and VAR_NAME_RE.fullmatch(name):
            out[name] = Variable(parse_scalar(environ[key]), environ[key], key)
    for flag, argument in cli_vars:
        if flag == "--var":
            name, sep, raw = argument.partition("=")
            if not sep or not VAR_NAME_RE.fullmatch(name):
                raise UsageError(f"--var {argument!r} is not NAME=VALUE",
                                 hint="e.g. --var workers=3 (names: letters, digits and _)")
            out[name] = Variable(parse_scalar(raw), raw, "--var")
        else:
            out.update(read_var_file(argument))
    return out


def read_var_file(path: str, named_by: str = "--var-file") -> dict[str, Variable]:
    """A var file (``--var-file``, or ``named_by`` the project file's ``varFiles``): one YAML
    mapping of NAME: value."""
    from reconciler import fastyaml, localfile
    from reconciler.fastyaml import yaml_issue
    from reconciler.manifest.positions import Locator

    try:
        text = localfile.read_text(path, localfile.SMALL_CAP)
    except localfile.UnreadableFile as exc:
        raise UsageError(f"cannot read {named_by} {path}: {exc.reason}",
                         hint="pass a YAML file of NAME: value lines" if named_by == "--var-file"
                         else f"check {named_by} in yottactl.yaml") from exc
    try:
        documents = [d for d in fastyaml.load_all(text) if d is not None]
    except fastyaml.YamlStructureError as exc:
        raise VarFileError([ManifestIssue(path, exc.line, exc.column, "", str(exc), exc.hint)]) from None
    except Exception as exc:  # ruamel's syntax errors, translated at the boundary
        raise VarFileError([yaml_issue(path, text, exc)]) from None
    if len(documents) > 1 or (documents and not isinstance(documents[0], dict)):
        raise VarFileError([ManifestIssue(path, 1, 1, "", "a var file is one YAML mapping",
                                           "write NAME: value lines, e.g. workers: 3")])
    data: dict[Any, Any] = documents[0] if documents else {}  # raw YAML: its keys checked below
    bad = [name for name in data if not isinstance(name, str) or not VAR_NAME_RE.fullmatch(name)]
    if bad:
        locator = Locator(path, text)
        issues = []
        for name in bad:
            line, col = locator.position(0, (name,), key=True)
            issues.append(ManifestIssue(path, line, col, "", f"{name!r} is not a valid variable name",
                                        "variable names are letters, digits and _"))
        raise VarFileError(issues)
    return {name: Variable(value, text_of(value), path) for name, value in data.items()}


def declared_unused(variables: Mapping[str, Variable], used: set[str]) -> list[str]:
    """Warnings for declared variables no manifest uses (YOTTACTL_VAR_* may be ambient)."""
    return [f"variable {name!r} is declared ({v.source}) but no manifest uses ${{var:{name}}}"
            for name, v in sorted(variables.items())
            if name not in used and not v.source.startswith(ENV_PREFIX)]
