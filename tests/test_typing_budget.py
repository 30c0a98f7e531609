"""`Any` in signatures stays rare: data crossing a function boundary has a type mypy checks
(a model, a TypedDict, ``object`` narrowed where read), not ``Any`` (issue 24).

Counted: each parameter or return annotation that mentions ``Any``, directly, in a string, or
through a module-level alias that does (``Row = dict[str, Any]`` counts wherever ``Row`` is
used). Not counted: the emulator (a test server), ``fastyaml.py`` and ``simpleyaml.py`` (the raw YAML
readers).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "reconciler"
ANY_BUDGET = 40
NOT_COUNTED = ("emulator/", "fastyaml.py", "simpleyaml.py")


def _mentions(node: ast.AST, aliases: set[str]) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and (n.id == "Any" or n.id in aliases):
            return True
        if isinstance(n, ast.Attribute) and n.attr == "Any":
            return True
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            try:  # a string annotation: parsed like the rest
                inner = ast.parse(n.value, mode="eval")
            except SyntaxError:
                continue
            if _mentions(inner, aliases):
                return True
    return False


def _aliases(tree: ast.Module) -> set[str]:
    """Module-level names bound to a type that mentions Any (in the order they are defined)."""
    found: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], ast.Name):
            name, value = stmt.targets[0].id, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) \
                and stmt.value is not None and "TypeAlias" in ast.unparse(stmt.annotation):
            name, value = stmt.target.id, stmt.value
        else:
            continue
        if _mentions(value, found):
            found.add(name)
    return found


def any_in_signatures(source: str) -> list[str]:
    """``line function`` once per parameter or return annotation that mentions Any."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    hits = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        a = fn.args
        params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, [a.vararg, a.kwarg])]
        for annotation in [*(p.annotation for p in params), fn.returns]:
            if annotation is not None and _mentions(annotation, aliases):
                hits.append(f"{fn.lineno} {fn.name}")
    return hits


def count_in_package() -> dict[str, list[str]]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name.startswith(NOT_COUNTED):
            continue
        hits = any_in_signatures(path.read_text(encoding="utf-8"))
        if hits:
            out[name] = hits
    return out


def test_the_count_sees_every_form_of_any() -> None:
    snippet = '''
from typing import Any
import typing
Row = dict[str, Any]
Rows = list[Row]
Fine = dict[str, object]

def direct(a: Any, b: int) -> Any: ...
def nested(a: list[dict[str, Any]]) -> None: ...
def qualified(*args: typing.Any, **kw: "Any") -> str: ...
def via_alias(rows: Rows) -> Fine: ...
async def coroutine(x: "dict[str, Any]") -> None: ...
class C:
    def method(self, x: object) -> Row: ...
def clean(a: object, b: Fine) -> "list[str]": ...
'''
    assert any_in_signatures(snippet) == [
        "8 direct", "8 direct", "9 nested", "10 qualified", "10 qualified", "11 via_alias",
        "12 coroutine", "14 method"]


def test_any_in_signatures_stays_within_budget() -> None:
    found = count_in_package()
    total = sum(len(hits) for hits in found.values())
    assert len(list(ROOT.rglob("*.py"))) > 100  # the package was found
    detail = "\n".join(f"{name}:{hit}" for name, hits in found.items() for hit in hits)
    assert total <= ANY_BUDGET, (
        f"{total} annotations mention Any (budget {ANY_BUDGET}): type them (a model, a "
        f"TypedDict, object narrowed with isinstance)\n{detail}")
