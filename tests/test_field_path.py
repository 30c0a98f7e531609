"""The one path formatter (fields.field_path), pinned for the paths each of its callers shows:
manifest issues (manifest/loader.py, pydantic locations), overlay issues (manifest/overlay.py)
and plan diffs (plan/diff.py, deepdiff's list paths)."""

from __future__ import annotations

import pytest

from reconciler.fields import field_path

CASES = [
    # manifest issues: pydantic's loc of a manifest document
    (("spec", "resources", 0, "gpuType"), "spec.resources[0].gpuType"),
    (("spec", "environmentVars", "HF_TOKEN"), "spec.environmentVars.HF_TOKEN"),
    (("metadata", "name"), "metadata.name"),
    ((), ""),  # an issue about the whole document
    # overlay issues: a patch's location
    (("spec", "resources", 1), "spec.resources[1]"),
    (("lifecycle",), "lifecycle"),
    # plan diffs: essence paths, environment variables by key (a key may hold a dot)
    (["resources", 0, "gpuCount"], "resources[0].gpuCount"),
    (["environmentVars", "MODEL"], "environmentVars.MODEL"),
    (["environmentVars", "a.b"], "environmentVars.a.b"),
    (["workers"], "workers"),
    # indexes first or in a row
    ([0, "name"], "[0].name"),
    (["expose", 0, 1], "expose[0][1]"),
]


@pytest.mark.parametrize(("parts", "shown"), CASES)
def test_each_callers_paths_read_as_before(parts: tuple[object, ...], shown: str) -> None:
    assert field_path(parts) == shown


def test_a_manifest_issue_and_a_plan_diff_show_the_same_path_form(tmp_path: object) -> None:
    """Through the callers: a bad resources entry in a manifest, and a changed one in a diff."""
    import dataclasses
    from pathlib import Path

    from reconciler.api.models import Deployment
    from reconciler.errors import ManifestError
    from reconciler.manifest.loader import load_each
    from reconciler.plan.diff import diff
    from reconciler.plan.normalize import essence_from_live

    from conftest import create_body, manifest_text

    folder = Path(str(tmp_path))
    (folder / "web.yaml").write_text(manifest_text("web").replace("gpuCount: 1", "gpuCount: x"))
    with pytest.raises(ManifestError) as raised:
        load_each([str(folder)], lambda d: d)
    assert "spec.resources[0].gpuCount" in [i.path for i in raised.value.issues]

    live = Deployment.model_validate({**create_body("web"), "id": "1" * 18, "status": "RUNNING"})
    before = essence_from_live(live)
    after = dataclasses.replace(before, resources=tuple(
        dataclasses.replace(r, gpuCount=2) for r in before.resources))
    assert [c.path for c in diff(before, after)] == ["resources[0].gpuCount"]
