"""Validate 1,000 manifests (one file each, and all in one file). Target: <= 0.5 s per 1,000.

Then the environments' cost: the same manifests using ${var:...} in a project with two
environments, each with an overlay file that patches every deployment, validated for one
environment. Target: rendering (variables + overlays) adds <= 20% to validate time.

Run: python bench/validate_bench.py [N]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _fleet import manifest_text

from reconciler.manifest.loader import load


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    env = {"HF_TOKEN": "bench"}
    with tempfile.TemporaryDirectory() as folder:
        many, one = Path(folder, "many"), Path(folder, "one")
        many.mkdir()
        one.mkdir()
        for i in range(n):
            (many / f"svc-{i:05d}.yaml").write_text(manifest_text(i))
        (one / "all.yaml").write_text("---\n".join(manifest_text(i) for i in range(n)))
        for label, path in (("one file each", many), ("all in one file", one)):
            best = min(_timed(lambda p=path: load([str(p)], env)) for _ in range(5))
            print(f"validate {n} manifests, {label:16}: {best * 1000:7.1f} ms in-process "
                  f"(target <= 500 ms per 1,000)")
        plain = min(_timed(lambda: load([str(many)], env)) for _ in range(5))
        project = _project(Path(folder, "project"), n)
        rendered = min(_timed(lambda: _load_env(project, env)) for _ in range(5))
        print(f"validate {n} manifests with variables + an overlay patching each, --env prod: "
              f"{rendered * 1000:7.1f} ms vs {plain * 1000:.1f} ms plain: "
              f"+{(rendered / plain - 1) * 100:.0f}% (target <= +20%)")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "reconciler", "validate", str(many)], check=True,
                       env={**os.environ, **env}, stdout=subprocess.DEVNULL)
        print(f"`yottactl validate` CLI wall time incl. start-up, {n} files: "
              f"{(time.perf_counter() - started) * 1000:7.1f} ms")


def _project(root: Path, n: int) -> Path:
    """A project: the fleet with ${var:...} for image tag and a model, one overlay per env."""
    (root / "manifests").mkdir(parents=True)
    for i in range(n):
        text = manifest_text(i).replace(f"v0.6.{i % 7}", "${var:tag}").replace(
            "MODEL: org/", "MODEL: ${var:org}/")
        (root / "manifests" / f"svc-{i:05d}.yaml").write_text(text)
    for env, workers in (("staging", 1), ("prod", 3)):
        (root / f"{env}.yaml").write_text("".join(
            f"---\nmetadata: {{name: svc-{i:05d}}}\nspec:\n  workers: {workers}\n"
            f"  environmentVars: {{MAX_TOKENS: null, TIER: {env}}}\n" for i in range(n)))
    (root / "yottactl.yaml").write_text(
        "manifests: manifests\nvariables: {tag: v0.6.3, org: acme}\nenvironments:\n"
        "  staging: {overlays: [staging.yaml]}\n  prod: {overlays: [prod.yaml]}\n")
    return root / "yottactl.yaml"


def _load_env(project: Path, env: dict[str, str]) -> None:
    from reconciler.project import Inputs, resolve
    from reconciler.project import load as load_project
    from reconciler.workflow import load_manifests

    os.environ.update(env)
    inputs = Inputs(resolve(load_project(project), "prod"))
    loaded = load_manifests([], inputs)
    assert len(loaded.deployments) > 0 and loaded.deployments[0].manifest.spec.workers == 3


def _timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
