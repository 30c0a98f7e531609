"""Validate 1,000 manifests (one file each, and all in one file). Target: <= 0.5 s per 1,000.

Then the environments' cost: the same manifests using ${var:...} in a project with two
environments, each with one overlay file, validated for one environment (`validate --env prod`)
against plain `validate`. Target: rendering (variables + overlays) adds <= 20% to validate time
for an overlay that patches a tenth of the fleet (workers, a region, an env var); the worst case,
an overlay patching every deployment, is printed too (its YAML alone is ~30% of the fleet's
events, so it costs about that much more).

Run: python bench/validate_bench.py [N]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _fleet import manifest_text

from reconciler.manifest.loader import load


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    env = {"HF_TOKEN": "bench"}
    os.environ.update(env)
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
        for every, label in ((10, "a tenth"), (1, "every one")):
            project = _project(Path(folder, f"project-{every}"), n, every)
            plain, rendered = 1e9, 1e9
            for _ in range(7):  # interleaved, best of 7, CPU time: other processes skew wall time
                plain = min(plain, _timed(lambda: _load_plain(many), time.process_time))
                rendered = min(rendered, _timed(lambda p=project: _load_env(p), time.process_time))
            target = " (target <= +20%)" if every == 10 else " (worst case, no target)"
            print(f"validate --env prod, {n} manifests with variables, overlay patching {label:9}: "
                  f"{rendered * 1000:6.1f} ms CPU vs {plain * 1000:.1f} ms plain: "
                  f"{(rendered / plain - 1) * 100:+.0f}%{target}")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "reconciler", "validate", str(many)], check=True,
                       env={**os.environ, **env}, stdout=subprocess.DEVNULL)
        print(f"`yottactl validate` CLI wall time incl. start-up, {n} files: "
              f"{(time.perf_counter() - started) * 1000:7.1f} ms")


def _project(root: Path, n: int, every: int) -> Path:
    """A project: the fleet with ${var:...} for image tag and a model, one overlay per env
    patching every ``every``-th deployment."""
    (root / "manifests").mkdir(parents=True)
    for i in range(n):
        text = manifest_text(i).replace(f"v0.6.{i % 7}", "${var:tag}").replace(
            "MODEL: org/", "MODEL: ${var:org}/")
        (root / "manifests" / f"svc-{i:05d}.yaml").write_text(text)
    for env, workers in (("staging", 1), ("prod", 3)):
        (root / f"{env}.yaml").write_text("".join(
            f"---\nmetadata: {{name: svc-{i:05d}}}\nspec:\n  workers: {workers}\n"
            f"  resources: [{{region: us-west-1, gpuType: NVIDIA_H100_80G, gpuCount: 1}}]\n"
            f"  environmentVars: {{MAX_TOKENS: null, TIER: {env}}}\n" for i in range(0, n, every)))
    (root / "yottactl.yaml").write_text(
        "manifests: manifests\nvariables: {tag: v0.6.3, org: acme}\nenvironments:\n"
        "  staging: {overlays: [staging.yaml]}\n  prod: {overlays: [prod.yaml]}\n")
    return root / "yottactl.yaml"


def _load_plain(folder: Path) -> None:
    """What `yottactl validate FOLDER` does without a project file."""
    from reconciler.app.plan import load_manifests
    from reconciler.project import Inputs

    load_manifests([str(folder)], Inputs())


def _load_env(project: Path) -> None:
    """What `yottactl validate --env prod` does: project file, variables, overlays."""
    from reconciler.app.plan import load_manifests
    from reconciler.project import Inputs, resolve
    from reconciler.project import load as load_project

    loaded = load_manifests([], Inputs(resolve(load_project(project), "prod")))
    assert loaded.deployments[0].manifest.spec.workers == 3 and not loaded.warnings


def _timed(fn: object, clock: Callable[[], float] = time.perf_counter) -> float:
    started = clock()
    fn()  # type: ignore[operator]
    return clock() - started


if __name__ == "__main__":
    main()
