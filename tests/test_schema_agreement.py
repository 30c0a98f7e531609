"""The JSON Schema (what editors and check-jsonschema use) and `yottactl validate` agree on every
manifest case file: both reject it or both accept it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.errors import ManifestError
from reconciler.manifest.editor_schema import json_schema
from reconciler.manifest.loader import load

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted((ROOT / "tests" / "manifest_cases").glob("*.yaml"))
EXAMPLES = sorted((ROOT / "examples" / "manifests").rglob("*.yaml"))
ENV = {"HF_TOKEN": "hf_canary", "QUEUE_TOKEN": "q_canary", "EMPTY_TOKEN": ""}

# What JSON Schema cannot see, and why: `validate` rejects these, editors accept them.
BEYOND_JSON_SCHEMA = {
    "duplicate_name": "names must be unique across documents and files",
    "duplicate_env_key": "a key repeated in the [{key, value}] form (items differ in value)",
    "env_bool_word": "quoting: a plain `yes` and a quoted \"yes\" are the same string to a schema",
    "env_number_key": "quoting: JSON keys are text, so a plain 3.10 key reaches a schema as \"3.1\"",
}


def schema_verdict(path: Path) -> list[str]:
    """check-jsonschema's way: parse with ruamel's safe loader (YAML 1.2), then validate
    every document. Returns the problems; [] means accepted."""
    from ruamel.yaml import YAML

    try:
        documents = list(YAML(typ="safe").load_all(path.read_bytes().decode("utf-8")))
    except Exception as exc:  # unreadable YAML is rejected by any schema checker
        return [f"parse: {type(exc).__name__}"]
    validator = Draft202012Validator(json_schema())
    problems = []
    for doc in documents:
        if doc is None:
            continue
        problems += [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                     for e in validator.iter_errors(doc)]
    return problems


def validate_verdict(path: Path) -> list[str]:
    """`yottactl validate --skip-env` (the environment is not the schema's business)."""
    try:
        load([str(path)], ENV, require_env=False)
    except ManifestError as err:
        return [i.message for i in err.issues]
    return []


def test_schema_is_valid_json_schema() -> None:
    Draft202012Validator.check_schema(json_schema())


@pytest.mark.parametrize("case", CASES + EXAMPLES, ids=lambda p: p.stem)
def test_schema_and_validate_agree(case: Path) -> None:
    by_schema, by_validate = schema_verdict(case), validate_verdict(case)
    if case.stem in BEYOND_JSON_SCHEMA:
        assert by_validate and not by_schema, (by_schema, by_validate)
        return
    assert bool(by_schema) == bool(by_validate), (
        f"schema: {by_schema or 'accepts'}\nvalidate: {by_validate or 'accepts'}")


def test_case_files_cover_the_rules() -> None:
    # the agreement above means something only if most cases are invalid ones
    rejected = [c for c in CASES if validate_verdict(c)]
    assert len(rejected) >= 28
    assert set(BEYOND_JSON_SCHEMA) <= {c.stem for c in CASES}


VALID_DOC: dict[str, Any] = {
    "apiVersion": "yottactl/v1", "kind": "ElasticDeployment", "metadata": {"name": "svc"},
    "spec": {"image": "vllm/vllm-openai:v0.6.3",
             "resources": [{"region": "us-east-1", "gpuType": "NVIDIA_H100_80G", "gpuCount": 1}],
             "workers": 1, "containerVolumeInGb": 50, "serviceMode": "QUEUE"}}


def valid_doc_with(tmp_path: Path, path: tuple[Any, ...], value: Any) -> Path:
    """A manifest file: the valid document with one value set at ``path``."""
    doc = json.loads(json.dumps(VALID_DOC))
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    file = tmp_path / "m.yaml"
    file.write_text(json.dumps(doc))
    return file


@pytest.mark.parametrize(("path", "value"), [
    (("spec", "workers"), "${env:WORKERS}"),
    (("spec", "resources", 0, "gpuCount"), "${env:GPUS}"),
    (("spec", "environmentVars"), {"PYVER": 3.10, "ZIP": 1234, "A": "x"}),
    (("spec", "credentialId"), "361530338086227968"),
    (("lifecycle",), {"ignoreChanges": ["workers", "environmentVars.MODEL"]}),
], ids=lambda v: str(v))
def test_schema_accepts_what_validate_accepts(tmp_path: Path, path: tuple[Any, ...],
                                              value: Any) -> None:
    file = valid_doc_with(tmp_path, path, value)
    assert schema_verdict(file) == [] and validate_verdict(file) == []


@pytest.mark.parametrize(("path", "value"), [
    (("spec", "workers"), True), (("spec", "workers"), "2"), (("spec", "workers"), "${env:}"),
    (("spec", "resources", 0, "gpuCount"), True), (("metadata", "name"), "abc\n"),
    (("metadata", "name"), "${env:NAME}"), (("spec", "environmentVars"), {"A": None}),
    (("spec", "environmentVars"), {"A": True}), (("spec", "environmentVars"), {"1A": "x"}),
    (("spec", "resources", 0, "gpuType"), "NVIDIA_H101"), (("spec", "credentialId"), "abc"),
    (("lifecycle",), {"ignoreChanges": ["workerz"]}), (("lifecycle",), {"preventDestroy": "yes"}),
    (("spec", "serviceMode"), "ALB"),
], ids=lambda v: repr(v))
def test_schema_rejects_what_validate_rejects(tmp_path: Path, path: tuple[Any, ...],
                                              value: Any) -> None:
    file = valid_doc_with(tmp_path, path, value)
    assert schema_verdict(file) and validate_verdict(file)
