"""Overlays: strategic-merge-like patches by deployment name, deletes, positions in errors."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ManifestError
from reconciler.manifest.loader import Rendering, load
from reconciler.manifest.overlay import OverlaySet

BASE = """\
apiVersion: yottactl/v1
kind: ElasticDeployment
metadata:
  name: api
spec:
  image: vllm/vllm-openai:v1
  resources:
    - {region: us-east-1, gpuType: NVIDIA_L4_24G, gpuCount: 1}
    - {region: us-east-2, gpuType: NVIDIA_L4_24G, gpuCount: 1}
  workers: 1
  containerVolumeInGb: 50
  serviceMode: ALB
  expose: {port: 8000}
  initializationCommand: --debug
  environmentVars:
    MODEL: small
    LOG_LEVEL: debug
---
apiVersion: yottactl/v1
kind: ElasticDeployment
metadata:
  name: worker
spec:
  image: acme/worker:v1
  resources:
    - {region: us-east-1, gpuType: NVIDIA_L4_24G, gpuCount: 1}
  workers: 1
  containerVolumeInGb: 50
  serviceMode: QUEUE
  environmentVars:
    - {key: BATCH, value: "8"}
    - {key: MODE, value: fast}
"""


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def load_with(tmp_path: Path, *overlays: str) -> dict[str, Any]:
    (tmp_path / "base.yaml").write_text(BASE)
    loaded = load([str(tmp_path / "base.yaml")], {},
                  rendering=Rendering(overlays=OverlaySet(list(overlays))))
    return {d.name: d.manifest.spec for d in loaded}


def errors(tmp_path: Path, *overlays: str) -> str:
    with pytest.raises(ManifestError) as err:
        load_with(tmp_path, *overlays)
    return err.value.detail


def test_merge_replaces_merges_by_key_and_deletes(tmp_path: Path) -> None:
    overlay = write(tmp_path, "prod.yaml", """\
        metadata: {name: api}
        spec:
          workers: 6
          resources:
            - {region: us-east-1, gpuType: NVIDIA_L4_24G, $patch: delete}
            - {region: us-east-2, gpuType: NVIDIA_L4_24G, gpuCount: 2}
            - {region: us-west-1, gpuType: NVIDIA_H100_80G, gpuCount: 2}
          expose: {protocol: TCP}
          initializationCommand: null
          environmentVars:
            MODEL: large
            LOG_LEVEL: null
            EXTRA: "1"
        lifecycle: {preventDestroy: true}
        ---
        metadata: {name: worker}
        spec:
          environmentVars:
            - {key: MODE, $patch: delete}
            - {key: BATCH, value: "64"}
            - {key: NEW, value: x}
        """)
    specs = load_with(tmp_path, overlay)
    api = specs["api"]
    assert api.workers == 6
    assert [(r.region, r.gpuType, r.gpuCount) for r in api.resources] == [
        ("us-east-2", "NVIDIA_L4_24G", 2), ("us-west-1", "NVIDIA_H100_80G", 2)]
    assert api.expose is not None and (api.expose.port, api.expose.protocol) == (8000, "TCP")
    assert api.initializationCommand is None  # null deletes the field
    assert {e.key: e.value for e in api.environmentVars} == {"MODEL": "large", "EXTRA": "1"}
    assert api.image == "vllm/vllm-openai:v1"  # untouched fields stay
    worker = specs["worker"]
    assert [(e.key, e.value) for e in worker.environmentVars] == [("BATCH", "64"), ("NEW", "x")]


def test_overlays_apply_in_order_and_across_env_forms(tmp_path: Path) -> None:
    first = write(tmp_path, "1.yaml", """\
        metadata: {name: worker}
        spec:
          workers: 2
          environmentVars: {BATCH: "16", MODE: null}
        """)
    second = write(tmp_path, "2.yaml", """\
        metadata: {name: worker}
        spec: {workers: 3}
        ---
        metadata: {name: api}
        spec:
          environmentVars:
            - {key: LOG_LEVEL, $patch: delete}
        """)
    specs = load_with(tmp_path, first, second)
    assert specs["worker"].workers == 3
    assert [(e.key, e.value) for e in specs["worker"].environmentVars] == [("BATCH", "16")]
    assert [e.key for e in specs["api"].environmentVars] == ["MODEL"]


def test_error_in_an_overlay_value_names_the_overlay(tmp_path: Path) -> None:
    overlay = write(tmp_path, "prod.yaml", """\
        metadata: {name: api}
        spec:
          resources:
            - {region: us-west-1, gpuType: NVIDIA_H100_80G, gpuCount: 1}
            - {region: us-east-9, gpuType: NVIDIA_H100_80G, gpuCount: 1}
          wrkers: 2
          environmentVars:
            MODEL: 1.5.0.x
            PORT: [1]
        """)
    detail = errors(tmp_path, overlay)
    assert f"{overlay}:5:16: spec.resources[3].region: unknown region 'us-east-9'" in detail
    assert f"{overlay}:6:3: spec.wrkers: unknown field 'wrkers'" in detail
    assert "did you mean 'workers'?" in detail
    assert f"{overlay}:9:11: spec.environmentVars[2].value:" in detail  # mapping form, by key
    assert "base.yaml" not in detail


def test_base_positions_follow_entries_after_a_delete(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(BASE.replace("region: us-east-2", "region: us-east-7"))
    overlay = write(tmp_path, "o.yaml", """\
        metadata: {name: api}
        spec:
          resources:
            - {region: us-east-1, gpuType: NVIDIA_L4_24G, $patch: delete}
        """)
    with pytest.raises(ManifestError) as err:
        load([str(tmp_path / "base.yaml")], {},
             rendering=Rendering(overlays=OverlaySet([overlay])))
    # merged entry 0 is the base file's entry 1 (line 9), not line 8
    assert f"{tmp_path / 'base.yaml'}:9:16: spec.resources[0].region: unknown region" \
        in err.value.detail


def test_overlay_for_a_missing_deployment_is_an_error(tmp_path: Path) -> None:
    overlay = write(tmp_path, "o.yaml", """\
        apiVersion: yottactl/v1
        kind: ElasticDeployment
        metadata:
          name: apl
        spec: {workers: 2}
        """)
    detail = errors(tmp_path, overlay)
    assert f"{overlay}:4:9: metadata.name: overlay patches 'apl', but no manifest defines " \
           "that deployment" in detail
    assert "did you mean 'api'?" in detail


def test_malformed_overlays(tmp_path: Path) -> None:
    overlay = write(tmp_path, "o.yaml", """\
        metadata: {name: api}
        sepc: {workers: 2}
        spec:
          resources:
            - {region: us-west-2, gpuType: NVIDIA_L4_24G, $patch: delete}
            - {region: us-east-1, gpuType: NVIDIA_L4_24G, $patch: replace}
          environmentVars: {NOPE: null}
        ---
        spec: {workers: 2}
        ---
        - a list
        """)
    detail = errors(tmp_path, overlay)
    assert f"{overlay}:2:1: sepc: unknown field 'sepc'" in detail and "did you mean 'spec'?" in detail
    assert f"{overlay}:5:7: spec.resources[0]: no resources entry us-west-2/NVIDIA_L4_24G to " \
           "delete" in detail
    assert f"{overlay}:6:59: spec.resources[1].$patch: unsupported $patch 'replace'" in detail
    assert f"{overlay}:7:27: spec.environmentVars.NOPE: environment variable 'NOPE' is not in " \
           "the base manifest" in detail
    assert f"{overlay}:9:1: metadata: an overlay must name the deployment it patches" in detail
    assert f"{overlay}:11:1: an overlay document is a mapping" in detail
    missing = str(tmp_path / "absent.yaml")
    assert f"{missing}:1:1: cannot read overlay" in errors(tmp_path, missing)


def test_unpatched_documents_keep_their_own_positions(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(BASE.replace("acme/worker:v1", "''"))
    overlay = write(tmp_path, "o.yaml", "metadata: {name: api}\nspec: {workers: 2}\n")
    with pytest.raises(ManifestError) as err:
        load([str(tmp_path / "base.yaml")], {}, rendering=Rendering(overlays=OverlaySet([overlay])))
    assert f"{tmp_path / 'base.yaml'}:24:10: spec.image:" in err.value.detail


def test_null_deletes_a_field_back_to_its_default(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(BASE + "lifecycle: {ignoreChanges: [workers]}\n")
    overlay = write(tmp_path, "o.yaml", """\
        metadata: {name: worker}
        lifecycle: {ignoreChanges: null, preventDestroy: true}
        """)
    [_, worker] = load([str(tmp_path / "base.yaml")], {},
                       rendering=Rendering(overlays=OverlaySet([overlay])))
    assert worker.manifest.lifecycle.ignoreChanges == ()  # null is not a value: the key goes
    assert worker.manifest.lifecycle.preventDestroy
