"""simpleyaml (the parser-free fast path for plain manifests) against fastyaml, the full reader
it stands in for (itself held to ruamel's safe loader by test_fastyaml_differential.py): on
every text, the fast path either declines (None) or returns exactly what fastyaml returns,
value and type, environment values kept as written included. Hypothesis writes manifest-shaped
YAML around the edges of the accepted shape; every YAML file of the repository goes through
both; and the shape real manifests have is accepted, so the comparison is never vacuous."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fastyaml_differential import ODD, documents

from reconciler.fastyaml import load_all
from reconciler.simpleyaml import load_simple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _fleet import manifest_text  # noqa: E402  (the benchmarks' realistic fleet)

# Values around the edges of what the fast path takes: comments, quotes, colons, indicators,
# flow collections with and without quotes or nesting, anchors, tags, block scalars.
EDGES = ["a #b", "a#b", "x: y", "x:", "http://h:1/p", "'it''s'", "'a, b'", '"a, b"', '"a\\"b"',
         '"${env:T}"', "'${var:v}'", "${env:T}", "[a, b]", "[]", "[ ]", "[a,]", "[a, [b]]",
         "{a: 1, b: '2'}", '{key: K, value: "256"}', "{key: K, value: 3.10}", "{}", "{a: {b: 1}}",
         "{a: 1,}", "{a:1}", "{a : 1}", "{a: 'x}'}", "[a] # c", "[a]x", "'q' # c", "'q'#c", "'q' x",
         "&a 1", "*a", "!!str 1", "|", ">", "@x", "`x", "%x", "-", "-1", "- 1", "?x", "é", "a  b",
         "a: b: c", "v0.6.3", "us-east-1", "null", "~", "<<", "=", "'", '"', "{", "[a", "0x1F",
         # found by a review: ? inside flow scalars, text that only Python calls space, dates
         # ruamel cannot make
         "[x?y]", "{k: x?y}", "{x?y: 1}", "[x ?y]", "[-?]", "x?y", "\xa0", "b \xa0", "\u3000",
         "2001-02-30", "[2001-02-30]", "{k: 2001-13-45}"]
KEYS = ["spec", "environmentVars", "value", "key", "name", "image", "a", "n", "true", "null",
        "1", "$patch", "a.b", "x-y", "'q'", "a b", "<<", "é"]
# what manifests mostly hold, drawn as often as the edges, so the texts are often accepted
PLAIN = ["x", "svc-1", "vllm/vllm-openai:v0.6.3", "us-east-1", "3", "40", "NVIDIA_L4_24G",
         "'quoted'", '"dq"', "[a, b]", "{a: 1, b: x}", "true", "https://h.example/p", "a b"]
PLAIN_KEYS = ["name", "image", "workers", "region", "gpuType", "b"]
values = st.sampled_from(PLAIN * 6 + EDGES + ODD)


@st.composite
def block_lines(draw: Any, indent: int, depth: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key in draw(st.lists(st.sampled_from(PLAIN_KEYS * 3 + KEYS), min_size=1, max_size=4)):
        kind = draw(st.sampled_from(["value"] * 6 + ["map", "seq", "indentless", "junk"])
                    if depth else st.just("value"))
        comment = draw(st.sampled_from(["", "", "", "", "  # note", " #", "#x"]))
        if kind == "value":
            lines.append(f"{pad}{key}: {draw(values)}{comment}")
        elif kind == "map":
            lines.append(f"{pad}{key}:{comment}")
            lines += draw(block_lines(indent + draw(st.sampled_from([1, 2, 4])), depth - 1))
        elif kind in ("seq", "indentless"):
            lines.append(f"{pad}{key}:")
            inner = indent + (0 if kind == "indentless" else 2)
            for _ in range(draw(st.integers(1, 3))):
                dash = draw(st.sampled_from(["- ", "- ", "-   ", "-"]))
                if draw(st.booleans()):
                    first, *rest = draw(block_lines(inner + len(dash), depth - 1))
                    lines += [" " * inner + dash + first.lstrip(" "), *rest]
                else:
                    lines.append(" " * inner + dash + draw(values))
        else:  # a line that continues, comments, blanks, stray text
            lines.append(f"{pad}{key}: {draw(values)}")
            lines.append(draw(st.sampled_from([f"{pad}  more", "", "# c", f"{pad}   ", "...",
                                               f"{pad}- x", "\tx: 1", "---"])))
    return lines


@st.composite
def manifest_like(draw: Any) -> str:
    docs = ["\n".join(draw(block_lines(0, 3))) for _ in range(draw(st.integers(1, 3)))]
    if draw(st.booleans()):  # a manifest's environment section, in either form
        env = draw(st.lists(values, min_size=1, max_size=3))
        docs[0] += "\nspec:\n  environmentVars:\n" + "".join(
            (f"    K{i}: {v}\n" if draw(st.booleans()) else
             draw(st.sampled_from([f"    - {{key: K{i}, value: {v}}}\n",
                                   f"    - key: K{i}\n      value: {v}\n"])))
            for i, v in enumerate(env))
    separator = draw(st.sampled_from(["\n---\n", "\n--- # next\n", "\n---\n\n", "\n"]))
    lead = draw(st.sampled_from(["", "---\n", "# head\n", "\n"]))
    return lead + separator.join(docs) + draw(st.sampled_from(["\n", "", "\n---\n"]))


def typed(value: Any) -> Any:
    """The value with every scalar's type beside it (PlainText is not str; True is not 1)."""
    if isinstance(value, dict):
        return [(typed(k), typed(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, repr(value))


def agree(text: str) -> bool:
    """The fast path declined, or returned what fastyaml returns; True when it accepted."""
    fast = load_simple(text)
    if fast is None:
        return False
    assert typed(fast) == typed(load_all(text)), text  # fastyaml must also accept it
    return True


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(manifest_like())
def test_fast_path_declines_or_agrees_on_manifest_shaped_yaml(text: str) -> None:
    agree(text)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(documents())
def test_fast_path_declines_or_agrees_on_fastyamls_generated_documents(text: str) -> None:
    agree(text)


@settings(max_examples=1, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(st.data())
def test_the_generated_texts_are_often_accepted(data: st.DataObject) -> None:
    """The comparison above is not vacuous: of 300 texts the generator writes (the same ones
    each run), the fast path takes a good share, and agrees on each."""
    texts = [data.draw(manifest_like()) for _ in range(300)]
    taken = sum(agree(text) for text in texts)
    assert taken >= 60, f"only {taken} of 300 generated texts took the fast path"


REPOSITORY_YAML = sorted(p for pattern in ("*.yaml", "*.yml") for p in ROOT.rglob(pattern)
                         if ".venv" not in p.parts and ".git" not in p.parts)


@pytest.mark.parametrize("path", REPOSITORY_YAML, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_of_the_repository(path: Path) -> None:
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        return  # neither reader gets undecodable text (the loader reports it first)
    agree(text)


@pytest.mark.parametrize("path", sorted((ROOT / "examples" / "manifests").rglob("*.yaml")) +
                         sorted((ROOT / "examples" / "environments").rglob("*.yaml")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_example_manifests_take_the_fast_path(path: Path) -> None:
    if path.name == "yottactl.yaml":  # the project file (not a manifest) uses anchors
        return
    assert agree(path.read_text()), f"{path} should take the fast path"


def test_the_benchmark_fleet_takes_the_fast_path() -> None:
    for i in range(12):  # every mode and region of bench/_fleet.py
        assert agree(manifest_text(i))


@pytest.mark.parametrize("text", [
    "a: 1\n---\na: 2\n", "---\na: 1\n", "a: 1\n--- # two\nb: [x, 'y, z']\n",
    "spec:\n  environmentVars:\n    A: 3.10\n    B: '3.10'\n    C: ~\n    D: 017\n",
    "spec:\n  environmentVars:\n  - {key: A, value: 3.10}\n  - key: B\n    value: yes\n",
    "spec:\n  environmentVars: {A: 3.10, B: \"x\"}\n",
    "a:\n- 1\n- x: 2\n  y: [3]\nb: {}\n",
    "a: 'it''s'  # quoted\nb: \"x: y\"\nc: x #y\nd: x#y\ne: http://h:8/p\n",
    "true: 1\nnull: 2\nn: 3\n",
    # the usual flow mapping and whole numbers, read by their own fast lines
    "a: {true: 1, null: x, n: y, False: z}\nb: {region: us-east-1, gpuCount: 1, c: -1.5}\n",
    "spec:\n  environmentVars: {A: 3.10, B: 017, C: null}\n  x: {k: v}  # c\n",
    "a: 0\nb: 017\nc: 123456789012345\nd: 1234567890123456789\ne: 00\n",
])
def test_plain_shapes_are_accepted_and_equal(text: str) -> None:
    assert agree(text), text


@pytest.mark.parametrize("text", [
    "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: |\n  x\n", "a: >\n  x\n", "a: b\n  c\n",
    "a: 1\na: 2\n", "a: 1\n---\n", "---\n---\na: 1\n", "'q': 1\n", "a: \"x\\ty\"\n",
    "a:\tb\n", "a: 1\r\nb: 2\r\n", "a: {b: {c: 1}}\n", "a: [1,]\n", "a:\n  - - 1\n",
    "<<: {a: 1}\n", "- a\n", "a: b: c\n", "%YAML 1.2\n---\na: 1\n", "a: 1\n...\n", "a: =\n",
    "# only a comment\n", "",
    # found by a review (libyaml refuses, or means something else)
    "a: 1\n\xa0\n", "a: b\n \xa0\n", "a:\n  b: 1\n  \u2003\n", "a: [x?y]\n", "a: {x?y: 1}\n",
    "a" * 1025 + ": 1\n", "x:\n- " + "a" * 1100 + ": 1\n", "x: {" + "a" * 1025 + ": 1}\n",
    "x: {'" + "a" * 1023 + "': 1}\n", "a: 2001-02-30\n", "a: [2001-02-30]\n", "a: " + "1" * 5000 + "\n",
    "\n" * 2000 + "a: 1\n", "#\n" * 2000 + "a: 1\n", "a: {b: 1, b: 2}\n", "a: {b: 1} x\n",
])
def test_everything_else_goes_to_the_full_reader(text: str) -> None:
    assert load_simple(text) is None, text


@pytest.mark.parametrize("text", [
    "a: [x" + " " * 1_000_000 + "y]\n", "a: {k: x" + " " * 1_000_000 + "y}\n",
    "a: [x" + " " * 1_000_000 + "y\n", "\n" * 1_000_000 + "a: 1\n",
    "a: {k: x" + " " * 1_000_000 + ", y: z}\n", "a: {k: x, " + "k: x, " * 100_000 + "k: x y}\n",
], ids=["flow-seq-spaces", "flow-map-spaces", "unclosed", "blank-lines", "simple-map-spaces",
        "simple-map-entries"])
def test_a_hostile_megabyte_is_declined_or_read_in_linear_time(text: str) -> None:
    """A pull request's 1 MiB line of spaces inside a flow collection took the old flow regex
    hours (quadratic backtracking; 25 s at 64,000 spaces); now milliseconds. One generous
    bound, far from both: a fixed reader takes ~0.03 s here, the broken one never finishes."""
    import time

    started = time.perf_counter()
    load_simple(text)
    assert time.perf_counter() - started < 2.0
