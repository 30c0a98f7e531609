"""fastyaml (our event-built reader) against ruamel.yaml's safe loader, the library it stands in
for: hypothesis writes YAML text itself (odd scalars, flow and block styles, anchors, aliases,
merge keys, several documents) and both must agree on every value outside environmentVars;
under environmentVars a plain scalar is its source text. Hostile inputs go through both."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from reconciler.fastyaml import load_all
from reconciler.scalars import PlainText

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted((ROOT / "tests" / "manifest_cases").glob("*.yaml"))

# Scalars whose meaning depends on the YAML resolver: numbers in every base and spelling,
# null/bool words of YAML 1.2 and 1.1, timestamps, and strings that merely look odd.
ODD = ["3.10", "01234", "017", "0o17", "0x1F", "0X1F", ".5", "+1", "-0", "1_000", "1e3", "1E3",
       "1.5e-3", "+.5", "1.", "0.", "1__0", "0_1", "_1", "1_", "0x_1", "0o", "0x", "0b101", "1:20",
       "+0x1F", "-0o7", "0017", "08", "09.5", "~", "null", "Null", "NULL", "true", "True", "FALSE",
       "yes", "No", "on", "OFF", "y", "n", "-.inf", ".Inf", "+.INF", "2026-01-02",
       "2026-01-02T10:00:00Z", "2026-1-2 3:04:05", "abc", "a b", "v0.6.3", "us-east-1", "-", "+",
       ".", "'quoted 3.10'", '"01234"', '"yes"', "''", '""', "!!str 12", "!!int 017", "!!float 1",
       "!!null ''", "!!bool true",
       # words starting like null/true/false that are text (fastyaml resolves them without ruamel)
       "nan", "NaN", "nULL", "tRUE", "fALSE", "none", "name", "n1", "t", "T", "F", "f_"]
KEYS = ["a", "b", "image", "workers", "1", "true", "null", "3.10", "spec", "x y"]
scalars = st.sampled_from(ODD)


def flow(depth: int) -> st.SearchStrategy[str]:
    if depth <= 0:
        return scalars
    inner = flow(depth - 1)
    return st.one_of(
        scalars,
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=4).map(
            lambda d: "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"),
    )


@st.composite
def block(draw: Any, indent: int = 0, depth: int = 2, keys: list[str] = KEYS) -> str:
    """A block mapping; values are flow nodes, nested block mappings or block sequences,
    some anchored and later aliased (and merged with <<)."""
    pad = " " * indent
    # unique as Python keys too: `1` and `true` are equal (ruamel lets the last win beside a <<)
    keys = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=5,
                         unique_by=lambda k: "1" if k == "true" else k))
    lines, anchors = [], []
    merged = False  # one << per mapping (a second one is an error for fastyaml)
    for key in keys:
        kind = draw(st.sampled_from(["flow", "flow", "map", "seq", "alias", "merge"]) if depth
                    else st.sampled_from(["flow", "alias", "merge"]))
        anchor = ""
        if draw(st.booleans()) and kind not in ("alias", "merge"):
            anchor = f"&n{len(anchors)}_{indent} "
            anchors.append((anchor.strip()[1:], kind == "map"))
        maps = [name for name, is_map in anchors if is_map]
        if kind == "merge" and not merged:  # merge an inline mapping or a list of mappings
            merged = True
            if maps and draw(st.booleans()):
                names = draw(st.lists(st.sampled_from(maps), min_size=1, max_size=3))
                lines.append(f"{pad}<<: [{', '.join('*' + n for n in names)}]")
            else:
                # no `true` beside `1` (equal in Python): ruamel merges an inline mapping's
                # pairs unchecked and keeps the last; fastyaml calls it a duplicate (tested below)
                inline_keys = st.sampled_from([k for k in KEYS if k != "true"])
                inline = draw(st.dictionaries(inline_keys, flow(1), max_size=4))
                lines.append(f"{pad}<<: {{{', '.join(f'{k}: {v}' for k, v in inline.items())}}}")
        elif kind in ("alias", "merge") and anchors:
            name, is_map = draw(st.sampled_from(anchors))
            if is_map and not merged and draw(st.booleans()):
                merged = True
                lines.append(f"{pad}<<: *{name}")
            else:
                lines.append(f"{pad}{key}: *{name}")
        elif kind in ("flow", "alias", "merge"):
            lines.append(f"{pad}{key}: {anchor}{draw(flow(2))}")
        elif kind == "map":
            lines.append(f"{pad}{key}: {anchor}".rstrip())
            lines.append(draw(block(indent + 2, depth - 1)))
        else:
            lines.append(f"{pad}{key}: {anchor}".rstrip())
            for item in draw(st.lists(flow(1), min_size=1, max_size=3)):
                lines.append(f"{pad}  - {item}")
    return "\n".join(lines)


@st.composite
def documents(draw: Any) -> str:
    docs = []
    for _ in range(draw(st.integers(1, 3))):
        with_env = draw(st.booleans())
        # Keys are unique in each generated mapping: a duplicate is an error for fastyaml and, next
        # to a merge key, silently "last wins" for ruamel (tested on its own below).
        body = draw(block(keys=[k for k in KEYS if k != "spec"] if with_env else KEYS))
        if with_env:  # a manifest-shaped environment section
            env = draw(st.lists(scalars, min_size=1, max_size=4))
            if draw(st.booleans()):
                body += "\nspec:\n  environmentVars:\n" + "".join(
                    f"    K{i}: {v}\n" for i, v in enumerate(env))
            else:
                body += "\nspec:\n  environmentVars:\n" + "".join(
                    f"    - {{key: K{i}, value: {v}}}\n" for i, v in enumerate(env))
        docs.append(body)
    separator = draw(st.sampled_from(["\n---\n", "\n...\n---\n"]))
    return separator.join(docs) + "\n"


def comparable(value: Any) -> Any:
    """Values with NaN made equal to itself, env values taken out (compared separately)."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return {comparable(k): comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def without_env(doc: Any) -> tuple[Any, Any]:
    if isinstance(doc, dict) and isinstance(doc.get("spec"), dict) and \
            "environmentVars" in doc["spec"]:
        spec = dict(doc["spec"])
        env = spec.pop("environmentVars")
        return {**doc, "spec": spec}, env
    return doc, None


def reference(text: str) -> list[Any] | None:
    try:
        return list(YAML(typ="safe").load_all(text))
    except Exception:
        return None


def ours(text: str) -> list[Any] | None:
    try:
        return load_all(text)
    except Exception:
        return None


def env_values(env: Any) -> list[Any]:
    if isinstance(env, dict):
        return list(env.values())
    return [item.get("value") for item in env] if isinstance(env, list) else []


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(documents())
def test_fastyaml_agrees_with_ruamel_safe_loader(text: str) -> None:
    expected, actual = reference(text), ours(text)
    assert (expected is None) == (actual is None), (text, expected, actual)
    if expected is None or actual is None:
        return
    assert len(expected) == len(actual)
    for exp_doc, our_doc in zip(expected, actual, strict=True):
        exp_rest, exp_env = without_env(exp_doc)
        our_rest, our_env = without_env(our_doc)
        assert comparable(our_rest) == comparable(exp_rest), text
        for exp_value, our_value in zip(env_values(exp_env), env_values(our_env), strict=True):
            if isinstance(our_value, PlainText):  # the text as written
                assert isinstance(exp_value, (str, int, float, bool, type(None))) or \
                    hasattr(exp_value, "isoformat")
            else:  # quoted or tagged: same value as ruamel's
                assert comparable(our_value) == comparable(exp_value), text


@pytest.mark.parametrize("token", [t for t in ODD if not t.startswith(("'", '"', "!")) and t != "-"])
def test_plain_env_value_is_its_source_text(token: str) -> None:
    [doc] = load_all(f"spec:\n  environmentVars:\n    A: {token}\n  other: {token}\n")
    if token in ("~", "null", "Null", "NULL"):  # null stays null (an overlay's delete)
        assert doc["spec"]["environmentVars"]["A"] is None
    else:
        assert doc["spec"]["environmentVars"]["A"] == token
        assert isinstance(doc["spec"]["environmentVars"]["A"], PlainText)
    [ref] = reference(f"other: {token}\n") or [None]
    assert comparable(doc["spec"]["other"]) == comparable(ref["other"])  # elsewhere: YAML 1.2


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_hostile_and_case_inputs_through_both(case: Path) -> None:
    data = case.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # both readers take text: undecodable bytes never reach either
    expected, actual = reference(text), ours(text)
    if case.stem in ("billion_laughs", "deep_nesting"):
        # ruamel builds the shared/deep structure (or hits its recursion limit); ours refuses
        # at its depth limit or shares the alias the same way: never a crash or a hang
        return
    if case.stem == "duplicate_env_key":  # a YAML-level duplicate only in the mapping form
        assert comparable(actual) == comparable(expected)
        return
    assert (expected is None) == (actual is None), case.stem
    if expected is not None and actual is not None:
        for exp_doc, our_doc in zip(expected, actual, strict=True):
            assert comparable(without_env(our_doc)[0]) == comparable(without_env(exp_doc)[0])


@pytest.mark.parametrize("text", ["spec: 1\nspec: 2\n", "spec: 1\n<<: {a: 1}\nspec: 2\n",
                                  "c: {<<: {1: a, true: b}}\n", "1: a\n<<: {b: 1}\ntrue: c\n"])
def test_duplicate_keys_are_errors_even_beside_a_merge_key(text: str) -> None:
    """Deliberately stricter than ruamel, which lets the last duplicate win when the mapping
    also holds a merge key: in a manifest a repeated key is always a mistake."""
    with pytest.raises(Exception, match=r"(?i)duplicate"):
        load_all(text)


MERGES = [
    # a list of merges: explicit keys win, then earlier merges over later ones
    "resources: [&r {region: us-east-1, gpuType: NVIDIA_H100_80G, gpuCount: 2},"
    " {<<: [*r], region: us-east-2}]\n",
    "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc: {<<: [*a, *b], z: 3}\n",
    "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc: {z: 3, <<: [*b, *a]}\n",
    "a: &a {x: 1}\nc:\n  w: 0\n  <<: [*a, {x: 9, v: 9}]\n  x: 2\n",
    # an inline mapping
    "spec:\n  environmentVars: {<<: {M: \"v\"}}\n",
    "c: {<<: {x: 1, y: [1, 2]}, y: 3}\n",
    "c:\n  y: 3\n  <<: {x: 1, y: {n: 2}}\n",
    "c: {<<: &m {x: 1}, y: 2}\nd: *m\n",
    "c: {<<: {<<: {deep: 1}, x: 2}}\n",
    "c: {<<: []}\n",
    "a: &a {x: 1}\n---\nc: {<<: [{x: 2}, {y: 3}]}\n",
    # a quoted '<<' is an ordinary key, never a merge (found by the property test)
    "{'<<': null}\n", "c: {\"<<\": 1, x: 2}\n", "c:\n  '<<': {x: 1}\n  y: 2\n",
]


@pytest.mark.parametrize("text", MERGES)
def test_merge_keys_with_a_list_or_an_inline_mapping_agree_with_ruamel(text: str) -> None:
    expected = list(YAML(typ="safe").load_all(text))
    assert comparable(load_all(text)) == comparable(expected), text
