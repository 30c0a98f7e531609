"""The thin CLI, checked by reading the source (the import rules are in .importlinter).

Commands parse options, call one use case (app/) and render: none of those layers
passes untyped data around, so mypy --strict checks what flows between them.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "reconciler"
THIN_LAYERS = [*sorted((ROOT / "cli").glob("*.py")), *sorted((ROOT / "app").glob("*.py")),
               ROOT / "settings.py", *sorted((ROOT / "report").glob("*.py"))]


def _mentions_any(node: ast.AST) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.id == "Any":
            return True
        if isinstance(n, ast.Attribute) and n.attr == "Any":
            return True
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and "Any" in n.value:
            return True  # a string annotation
    return False


def any_in_signatures(path: Path) -> list[str]:
    """``file:line function`` for each parameter or return annotation that mentions Any."""
    found = []
    for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        a = fn.args
        params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, [a.vararg, a.kwarg])]
        annotations = [p.annotation for p in params] + [fn.returns]
        if any(ann is not None and _mentions_any(ann) for ann in annotations):
            found.append(f"{path.relative_to(ROOT.parent)}:{fn.lineno} {fn.name}")
    return found


def test_the_checker_sees_any_in_a_signature(tmp_path: Path) -> None:
    sample = tmp_path / "reconciler" / "sample.py"
    sample.parent.mkdir()
    sample.write_text("from typing import Any\n\ndef f(x: int, **kw: Any) -> None: ...\n"
                      "def g() -> 'dict[str, Any]': ...\ndef h(x: object) -> int: ...\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path / "reconciler"
    try:
        assert any_in_signatures(sample) == ["reconciler/sample.py:3 f", "reconciler/sample.py:4 g"]
    finally:
        ROOT = saved


def test_no_any_in_cli_use_case_and_settings_signatures() -> None:
    assert len(THIN_LAYERS) > 15  # the globs found the packages
    offenders = [hit for path in THIN_LAYERS for hit in any_in_signatures(path)]
    assert offenders == []


def test_only_the_cli_imports_click() -> None:
    importers = []
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "click" or n.startswith("click.") for n in names):
                importers.append(path.relative_to(ROOT).parts[0])
    assert importers and set(importers) == {"cli"}


def _importers(module: str) -> set[str]:
    """The modules under reconciler/ (as paths) that import ``module`` or one of its parts."""
    importers = set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            if any(n == module or n.startswith(module + ".") for n in names):
                importers.add(path.relative_to(ROOT).as_posix())
    return importers


# trust.py parses an endpoint URL with httpx as well as the standard library, to refuse any
# URL the two read differently; it sends nothing
HTTPX_PARSER_ONLY = {"trust.py"}


def test_every_http_call_goes_through_the_api_package() -> None:
    """Only reconciler/api/ (the client, and plain_http for webhooks and the probe: timeouts,
    no credential, redacted failures) and the emulator import httpx."""
    importers = _importers("httpx")
    assert "api/client.py" in importers and "api/plain_http.py" in importers  # the scan works
    outside = {m for m in importers - HTTPX_PARSER_ONLY
               if not m.startswith(("api/", "emulator/"))}
    assert outside == set(), "send HTTP through reconciler/api/ (plain_http.py for webhooks)"


# module-level containers that hold no run state: filled once at import from constant data,
# or a memo of a pure function (a type's field names)
FILLED_AT_IMPORT = {"essence.py:_UNSET", "render/safe.py:_FIELDS"}
_EMPTY_CONTAINERS = ("set()", "{}", "[]", "dict()", "list()")


def module_state(source: str, name: str) -> list[str]:
    """``name:VARIABLE`` for each module-level empty container (a place to keep state between
    calls) and ``name:global`` for each ``global`` statement."""
    tree = ast.parse(source)
    found = [f"{name}:global" for node in ast.walk(tree) if isinstance(node, ast.Global)]
    for stmt in tree.body:
        targets = (stmt.targets if isinstance(stmt, ast.Assign) else
                   [stmt.target] if isinstance(stmt, ast.AnnAssign) and stmt.value else [])
        value = getattr(stmt, "value", None)
        if value is not None and ast.unparse(value) in _EMPTY_CONTAINERS:
            found += [f"{name}:{t.id}" for t in targets if isinstance(t, ast.Name)]
    return found


def test_the_module_state_check_sees_it() -> None:
    snippet = "_SEEN: set[str] = set()\nCACHE = {}\nRATES = {'a': 1}\ndef f():\n    global CACHE\n"
    assert sorted(module_state(snippet, "m.py")) == ["m.py:CACHE", "m.py:_SEEN", "m.py:global"]


def test_no_run_state_in_module_globals() -> None:
    """What one command learns (its secrets, catalog, allowed GPU types...) lives in objects the
    command owns (its Session, its Inputs), never in module globals that outlive it."""
    found = [hit for path in ROOT.rglob("*.py") if "emulator" not in path.parts
             for hit in module_state(path.read_text(encoding="utf-8"),
                                     path.relative_to(ROOT).as_posix())]
    assert set(found) - FILLED_AT_IMPORT == set()


MAX_MODULE_LINES = 400  # a module past this is two modules: split it along its seams


def test_no_module_passes_400_lines() -> None:
    sizes = {str(path.relative_to(ROOT.parent)): len(path.read_text(encoding="utf-8").splitlines())
             for path in ROOT.rglob("*.py")}
    assert len(sizes) > 100 and max(sizes.values()) > 300  # the glob found the whole package
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert too_long == {}, "split these modules (docs/ARCHITECTURE.md section 2)"


def test_only_the_session_builds_clients_and_backends() -> None:
    """Settings hold values; a command's one client and backend are made (and closed) by
    app/session.py, never by a use case on its own (issue 24: nothing closed what it built)."""
    callers = sorted({str(path.relative_to(ROOT)) for path in ROOT.rglob("*.py")
                      for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                      if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                      and node.func.attr in ("client", "state_file") and not node.args})
    assert callers == ["app/session.py"]


def test_every_command_module_is_in_the_independence_contract() -> None:
    """A new command module joins the `cli-commands` contract (no command module imports
    another), or that contract would not see it."""
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT.parent / ".importlinter")
    listed = set(config["importlinter:contract:cli-commands"]["modules"].split())
    commands = {f"reconciler.cli.{path.stem}" for path in (ROOT / "cli").glob("*.py")
                if "@main.command" in path.read_text(encoding="utf-8")
                or "@main.group" in path.read_text(encoding="utf-8")}
    assert len(commands) > 5 and listed == commands
