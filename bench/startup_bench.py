"""Start-up cost: `yottactl --version` and every `--help` (the top level and each subcommand's)
against `python -c pass`, whole processes.

Each command alternates with `python -c pass` (A B A B ...), so a burst of someone else's load
hits both alike; the figure is the median of the pairs' ratios, of wall time and of CPU time.
Byte code is compiled first, as an installed wheel has it (under PYTHONDONTWRITEBYTECODE every
run would otherwise compile each module it imports).
Targets: `--version` <= 2.5x and every `--help` <= 2.5x `python -c pass`.

Run: python bench/startup_bench.py [RUNS]   (default 9 pairs per command)
"""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

import click

import reconciler
from reconciler.cli import main as yottactl

TARGET = 2.5


def _measure(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one whole process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd} failed")
    return wall, usage.ru_utime + usage.ru_stime


def ratios(cmd: list[str], runs: int) -> tuple[float, float, float]:
    """Median wall/CPU ratio against `python -c pass` and the command's median wall (ms)."""
    bare = [sys.executable, "-c", "pass"]
    _measure(cmd), _measure(bare)  # warm-up: page cache
    pairs = [(_measure(cmd), _measure(bare)) for _ in range(runs)]
    return (median(a[0] / b[0] for a, b in pairs), median(a[1] / b[1] for a, b in pairs),
            median(a[0] for a, _ in pairs) * 1000)


def help_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under ``group``: (), ("plan",), ("state",), ("state", "list"), ..."""
    found = [prefix]
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            found += help_commands(command, (*prefix, name))
        elif command is not None and not command.hidden:
            found.append((*prefix, name))
    return found


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    compileall.compile_dir(Path(reconciler.__file__).parent, quiet=1)
    exe = shutil.which("yottactl", path=str(Path(sys.executable).parent)) or "yottactl"
    worst = 0.0
    print(f"median of {runs} pairs against `python -c pass`: wall ratio, CPU ratio (wall ms)")
    for args in [("--version",), *((*path, "--help") for path in help_commands(yottactl))]:
        wall, cpu, ms = ratios([exe, *args], runs)
        worst = max(worst, wall) if args != ("--version",) else worst
        print(f"  yottactl {' '.join(args):<32} {wall:5.2f}x  {cpu:5.2f}x CPU  ({ms:5.1f} ms)  "
              f"{'OK' if wall <= TARGET else 'MISSED'}")
    print(f"target: every --help <= {TARGET}x -> worst {worst:.2f}x "
          f"{'OK' if worst <= TARGET else 'MISSED'}")


if __name__ == "__main__":
    main()
