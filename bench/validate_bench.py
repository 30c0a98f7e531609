"""Validate 1,000 manifests (one file each, and all in one file). Target: <= 0.5 s per 1,000.

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
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "reconciler", "validate", str(many)], check=True,
                       env={**os.environ, **env}, stdout=subprocess.DEVNULL)
        print(f"`yottactl validate` CLI wall time incl. start-up, {n} files: "
              f"{(time.perf_counter() - started) * 1000:7.1f} ms")


def _timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
