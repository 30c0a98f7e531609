"""Manifest loading and validation: golden error cases, examples, hostile input, properties."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.errors import ManifestError
from reconciler.manifest.editor_schema import json_schema
from reconciler.manifest.loader import load

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "manifest_cases"
EXAMPLES = ROOT / "examples" / "manifests"
ENV = {"HF_TOKEN": "hf_canary", "QUEUE_TOKEN": "q_canary", "EMPTY_TOKEN": ""}


def errors_for(path: Path) -> str:
    with pytest.raises(ManifestError) as err:
        load([str(path.relative_to(ROOT))], ENV)
    return err.value.detail + "\n"


@pytest.mark.parametrize("case", sorted(CASES.glob("*.yaml")), ids=lambda p: p.stem)
def test_invalid_manifest_golden(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    actual = errors_for(case)
    golden = case.with_suffix(".expected")
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(actual)
    assert actual == golden.read_text()
    # every line names file:line:column
    first = actual.splitlines()[0]
    assert first.startswith(f"tests/manifest_cases/{case.name}:")
    assert first.split(":")[1].isdigit() and first.split(":")[2].isdigit()


def test_examples_validate_clean() -> None:
    loaded = load([str(EXAMPLES)], ENV)
    names = [d.name for d in loaded]
    assert names == ["batch-embeddings", "comfy-studio", "llama-inference", "qwen-72b-failover"]
    modes = {d.manifest.spec.serviceMode for d in loaded}
    assert modes == {"ALB", "QUEUE", "CUSTOM"}
    llama = next(d for d in loaded if d.name == "llama-inference")
    assert llama.sensitive == {"environmentVars.HF_TOKEN"}
    batch = next(d for d in loaded if d.name == "batch-embeddings")
    assert batch.sensitive == {"environmentVars.QUEUE_TOKEN"}
    assert dict((e.key, e.value) for e in batch.manifest.spec.environmentVars)["BATCH_SIZE"] == "256"


def test_env_forms_and_escape(tmp_path: Path) -> None:
    text = (CASES / "misspelled_key.yaml").read_text().replace("containerVolumeGb", "containerVolumeInGb")
    text += "  environmentVars:\n    LITERAL: $${env:NOT_A_VAR}\n    PORT: 8000\n"
    (tmp_path / "m.yaml").write_text(text)
    [d] = load([str(tmp_path)], {})
    env = {e.key: e.value for e in d.manifest.spec.environmentVars}
    assert env == {"LITERAL": "${env:NOT_A_VAR}", "PORT": "8000"}
    assert d.sensitive == frozenset()


def test_all_errors_in_all_files_reported_sorted() -> None:
    with pytest.raises(ManifestError) as err:
        load([str(CASES)], ENV)
    files = {i.file for i in err.value.issues}
    assert len(files) == len(list(CASES.glob("*.yaml")))
    assert err.value.issues == sorted(err.value.issues)


def test_billion_laughs_rejected_fast() -> None:
    # CPU time, not wall time: an expansion is exponential work, and a loaded machine must not
    # turn a fast refusal red
    started = time.process_time()
    with pytest.raises(ManifestError):
        load([str(CASES / "billion_laughs.yaml")], {})
    assert time.process_time() - started < 0.5


def test_huge_file_rejected(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (10 * 1024 * 1024 + 1))
    with pytest.raises(ManifestError) as err:
        load([str(big)], {})
    assert "larger than 10 MiB" in err.value.detail


def test_schema_file_in_sync_with_models() -> None:
    committed = json.loads((ROOT / "schema" / "manifest-v1.schema.json").read_text())
    assert committed == json_schema(), "run: yottactl schema > schema/manifest-v1.schema.json"
    for example in EXAMPLES.rglob("*.yaml"):
        first = example.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=")
        target = (example.parent / first.split("$schema=")[1]).resolve()
        assert target == ROOT / "schema" / "manifest-v1.schema.json"


def test_examples_satisfy_committed_json_schema() -> None:
    from jsonschema import Draft202012Validator
    from ruamel.yaml import YAML

    validator = Draft202012Validator(json_schema())
    for example in EXAMPLES.rglob("*.yaml"):
        doc = YAML(typ="safe").load(example.read_text())
        assert not list(validator.iter_errors(doc)), example


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=12), inner, max_size=5)),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300),
                 yaml_values.map(lambda v: json.dumps(v))))
def test_arbitrary_input_yields_models_or_manifest_error(payload: bytes | str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        if isinstance(payload, bytes):
            path.write_bytes(payload)
        else:
            path.write_text(payload, encoding="utf-8", errors="surrogatepass") if False else \
                path.write_bytes(payload.encode("utf-8", "surrogatepass"))
        try:
            loaded = load([str(path)], {})
        except ManifestError as err:
            assert err.issues and all(i.line >= 1 and i.column >= 1 for i in err.issues)
        else:
            assert all(d.name for d in loaded)


printable = st.text(st.characters(exclude_categories=("Cs", "Cc", "Cf", "Zl", "Zp", "Co", "Cn")),
                    max_size=12)
plain_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), printable),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(printable, inner, max_size=5)),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(plain_values)
def test_fast_reader_agrees_with_ruamel_safe_loader(value: object) -> None:
    import io

    from ruamel.yaml import YAML

    from reconciler.fastyaml import load_all

    buffer = io.StringIO()
    YAML(typ="safe", pure=True).dump(value, buffer)
    text = buffer.getvalue()
    try:
        expected = list(YAML(typ="safe", pure=False).load_all(text))
    except Exception:  # the pure dumper writes a few forms libyaml rejects (e.g. [:0])
        with pytest.raises(Exception):  # noqa: B017
            load_all(text)
        return
    assert load_all(text) == expected


def test_fast_reader_anchors_merge_and_tags() -> None:
    from reconciler.fastyaml import load_all

    text = "base: &b {a: 1, b: x}\nother:\n  <<: *b\n  b: y\nn: !!str 12\nh: 0x1f\nf: 1.5e3\nz: ~\n"
    assert load_all(text) == [{"base": {"a": 1, "b": "x"}, "other": {"a": 1, "b": "y"},
                               "n": "12", "h": 31, "f": 1500.0, "z": None}]
    assert load_all("---\n---\na: 1\n") == [None, {"a": 1}]


def test_validate_command_text_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from reconciler.cli import main

    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    ok = runner.invoke(main, ["validate", "examples/manifests"], env=ENV)
    assert ok.exit_code == 0 and ok.output == "4 deployments valid\n"
    skipped = runner.invoke(main, ["validate", "--skip-env", "examples/manifests"],
                            env={"HF_TOKEN": None, "QUEUE_TOKEN": None})
    assert skipped.exit_code == 0
    bad = runner.invoke(main, ["validate", "-o", "json", "tests/manifest_cases/out_of_range.yaml"])
    assert bad.exit_code == 1
    errors = json.loads(bad.output)
    assert [(e["line"], e["column"], e["path"]) for e in errors] == [
        (9, 12, "spec.workers"), (10, 24, "spec.containerVolumeInGb"), (12, 18, "spec.expose.port")]
    assert set(errors[0]) >= {"file", "line", "column", "path", "message"}
    text = runner.invoke(main, ["validate", "tests/manifest_cases/misspelled_key.yaml"])
    assert text.exit_code == 1 and "did you mean 'containerVolumeInGb'?" in text.stderr
    assert "Traceback" not in text.output + text.stderr
