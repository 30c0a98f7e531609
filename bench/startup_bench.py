"""Start-up cost: `yottactl --version` against `python -c pass`, best of 20 each, whole processes.

Target: `yottactl --version` <= 2.5x `python -c pass`. Also prints `yottactl --help` for scale.

Run: python bench/startup_bench.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path


def best(cmd: list[str], runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    exe = shutil.which("yottactl", path=str(Path(sys.executable).parent)) or "yottactl"
    bare = best([sys.executable, "-c", "pass"])
    version = best([exe, "--version"])
    helptext = best([exe, "--help"], runs=5)
    ratio = version / bare
    print(f"python -c pass     {bare * 1000:6.1f} ms")
    print(f"yottactl --version {version * 1000:6.1f} ms  ({ratio:.2f}x, target <= 2.5x) "
          f"{'OK' if ratio <= 2.5 else 'MISSED'}")
    print(f"yottactl --help    {helptext * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
