"""The PostgreSQL state backend end to end: real server, real `yottactl` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from conftest import Cli
from pgserver import database_url

PASSWORD = "Pw-9q7-NEVER-PRINTED"


def with_password(url: str, password: str = PASSWORD) -> str:
    """The URL with a password (the test server trusts local users and ignores it)."""
    parts = urlsplit(url)
    user = parts.username or "postgres"
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.hostname or ''}"
                                     + (f":{parts.port}" if parts.port else "")))


def sql(url: str, query: str) -> list[tuple[object, ...]]:
    base = url.split("state=")[0].rstrip("?&")
    with psycopg.connect(base, autocommit=True) as conn:
        cursor = conn.execute(query)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def names_and_counts(cli: Cli) -> dict[str, int]:
    counts: dict[str, int] = {}
    for d in cli.client().list():
        counts[d.name or ""] = counts.get(d.name or "", 0) + 1
    return counts


def test_apply_plan_history_pull_and_the_password_never_shows(cli: Cli, pg_state: str) -> None:
    url = with_password(pg_state)
    assert PASSWORD in url
    cli.env["YOTTACTL_STATE"] = url
    cli.write("a")
    cli.write("b")
    outputs = []
    first = cli.subprocess("apply", str(cli.manifests), "--auto-approve", "--state", url)
    assert first.returncode == 0, first.stderr
    cli.write("b", workers=3)
    plan_file = cli.folder / "plan.json"
    for args in (("plan", str(cli.manifests), "--out", str(plan_file)),
                 ("apply", "--plan", str(plan_file), "--state", url),
                 ("state", "history"), ("state", "list"), ("state", "pull"),
                 ("state", "pull", "--serial", "1"), ("plan", str(cli.manifests))):
        result = cli.subprocess(*args)
        assert result.returncode == 0, (args, result.stderr)
        outputs.append(result.stdout + result.stderr)
    history = outputs[2].splitlines()
    assert history[0].startswith("SERIAL") and "~b" in history[1] and "--state postgresql://" in history[1]
    assert "No changes" in outputs[-1]
    pulled = json.loads(outputs[4])
    assert set(pulled["deployments"]) == {"a", "b"} and pulled["deployments"]["b"]["spec"]["workers"] == 3
    assert json.loads(outputs[5])["serial"] == 1
    stored = str(sql(pg_state, "SELECT * FROM yottactl_state_versions")) + str(
        sql(pg_state, "SELECT * FROM yottactl_journal")) + str(sql(pg_state, "SELECT * FROM yottactl_locks"))
    assert "***" in stored  # the commands were recorded, their password redacted
    for text in [*outputs, first.stdout + first.stderr, plan_file.read_text(), stored]:
        assert PASSWORD not in text
    unreachable = with_password("postgresql://yotta@127.0.0.1:1/nowhere?state=x")
    failed = cli.subprocess("plan", str(cli.manifests), "--state", unreachable)
    assert failed.returncode == 1 and "cannot connect to the PostgreSQL state" in failed.stderr
    assert PASSWORD not in failed.stderr and "Traceback" not in failed.stderr


def test_states_by_name_share_one_database(cli: Cli, pg_database: str) -> None:
    cli.write("a")
    sep = "&" if "?" in pg_database else "?"
    for name in ("prod", "staging"):
        result = cli.run("apply", str(cli.manifests), "--auto-approve", "--adopt",
                                "--state", f"{pg_database}{sep}state={name}")  # staging adopts
        assert result.returncode == 0, result.stderr
    rows = sql(pg_database, "SELECT DISTINCT name FROM yottactl_state_versions ORDER BY name")
    assert rows == [("prod",), ("staging",)]
    assert sql(pg_database, "SELECT value FROM yottactl_meta WHERE key = 'schema_version'") == [("1",)]


def test_a_newer_schema_is_refused(cli: Cli, pg_state: str) -> None:
    cli.write("a")
    cli.env["YOTTACTL_STATE"] = pg_state
    assert cli.run("apply", str(cli.manifests), "--auto-approve").returncode == 0
    sql(pg_state, "UPDATE yottactl_meta SET value = '2' WHERE key = 'schema_version'")
    result = cli.run("plan", str(cli.manifests))
    assert result.returncode == 1 and "schema version 2" in result.stderr
    assert "understands version 1" in result.stderr and "Traceback" not in result.stderr


def test_missing_psycopg_names_the_extra_and_the_cli_does_not_import_it(cli: Cli, pg_state: str) -> None:
    blocked = ("import sys; sys.modules['psycopg'] = None; from reconciler.cli import main; "
               "sys.argv[0] = 'yottactl'; main()")
    result = subprocess.run([sys.executable, "-c", blocked, "state", "list", "--state", pg_state],
                            capture_output=True, text=True, timeout=60, env={**os.environ, **cli.env})
    assert result.returncode == 1, result.stderr
    assert "pip install 'yotta-reconciler[postgres]'" in result.stderr and "Traceback" not in result.stderr
    lazy = subprocess.run([sys.executable, "-c", "import sys\nfrom reconciler.cli import main\n"
                           "assert 'psycopg' not in sys.modules, 'imported at start-up'"],
                          capture_output=True, text=True, timeout=60)
    assert lazy.returncode == 0, lazy.stderr


def _fake_host(name: str) -> list[str]:
    """Run a command under another host name (its own UTS namespace)."""
    return ["unshare", "-u", "sh", "-c", f'hostname {name} && exec "$@"', "sh"] if os.geteuid() == 0 \
        else ["unshare", "-r", "-u", "sh", "-c", f'hostname {name} && exec "$@"', "sh"]


def test_five_concurrent_applies_take_turns(cli: Cli, pg_state: str) -> None:
    cli.server.emulator.faults.latency_ms = 30
    cli.env["YOTTACTL_STATE"] = pg_state
    names = [f"svc-{i}" for i in range(5)]
    for name in names:
        cli.write(name)
    probe = subprocess.run([*_fake_host("probe-host"), "hostname"], capture_output=True, text=True)
    assert probe.stdout.strip() == "probe-host", probe.stderr  # the host names below are real
    procs = [subprocess.Popen(
        [*_fake_host(f"runner-{i}"), sys.executable, "-m", "reconciler", "apply", str(cli.manifests),
         "--auto-approve", "--target", name, "--lock-timeout", "120"],
        env={**os.environ, **cli.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i, name in enumerate(names)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0] * 5, outs
    assert names_and_counts(cli) == dict.fromkeys(names, 1)
    writers = [str(w) for (w,) in sql(pg_state, "SELECT written_by FROM yottactl_state_versions "
                                                "ORDER BY serial")]
    hosts = [w.split("@")[1].split(" ")[0] for w in writers]
    blocks = [h for i, h in enumerate(hosts) if i == 0 or hosts[i - 1] != h]
    assert sorted(blocks) == sorted(f"runner-{i}" for i in range(5)), hosts  # one run at a time
    state = json.loads(cli.subprocess("state", "pull").stdout)
    assert {n: e["id"] for n, e in state["deployments"].items()} == {
        d.name: d.id for d in cli.client().list()}


def test_kill_9_of_the_holder_frees_the_lock_and_the_next_apply_recovers(cli: Cli, pg_state: str) -> None:
    cli.env["YOTTACTL_STATE"] = pg_state
    cli.write("one")
    api = cli.client()
    cli.server.emulator.faults.response_delay_ms = 5000  # created at once, answered much later
    holder = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", str(cli.manifests),
                               "--auto-approve"], env={**os.environ, **cli.env},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not api.list() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert api.list() and sql(pg_state, "SELECT count(*) FROM yottactl_locks") == [(1,)]
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    cli.server.emulator.faults.response_delay_ms = 0
    # --lock-timeout 5: it fails unless the dead holder's lock is free within 5 s
    again = cli.subprocess("apply", str(cli.manifests), "--auto-approve", "--lock-timeout", "5")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "took over the state lock left by pid" in again.stderr
    assert "recovered: one was created by an interrupted run" in again.stderr
    assert names_and_counts(cli) == {"one": 1}
    assert sql(pg_state, "SELECT count(*) FROM yottactl_journal") == [(0,)]


def test_migrate_file_to_postgres_to_file_keeps_everything(cli: Cli, pg_state: str, tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        cli.write(name)
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    original = json.loads(cli.state.read_text())
    to_pg = cli("state", "migrate", "--to", pg_state)
    assert to_pg.exit_code == 0, to_pg.stderr
    assert cli("plan", str(cli.manifests), "--state", pg_state).stdout.count("No changes") == 1
    refused = cli("state", "migrate", "--to", pg_state)
    assert refused.exit_code == 1 and "already holds a state" in refused.stderr
    back = tmp_path / "back" / "state.json"
    to_file = cli("state", "migrate", "--state", pg_state, "--to", str(back))
    assert to_file.exit_code == 0, to_file.stderr
    assert json.loads(back.read_text()) == original  # lineage, serial and every entry
    assert cli("state", "migrate", "--to", pg_state, "--force").exit_code == 0


def test_libpq_password_conventions(cli: Cli, pg_database: str, postgres_url: str, tmp_path: Path) -> None:
    """A role that must authenticate: PGPASSWORD and a ~/.pgpass file work; a wrong one is a
    clean error without the password."""
    role = "yottactl_pw_" + urlsplit(pg_database).path.strip("/")[-8:]
    sql(postgres_url, f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
    sql(postgres_url, f'GRANT ALL ON DATABASE "{urlsplit(pg_database).path.strip("/")}" TO {role}')
    sql(pg_database, f"GRANT ALL ON SCHEMA public TO {role}")
    require_password(postgres_url, role)
    parts = urlsplit(pg_database)
    url = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname or ''}"
                                    + (f":{parts.port}" if parts.port else "")))
    state = database_url(url, parts.path.strip("/"), state="default", sslmode="prefer")
    cli.write("a")
    wrong = cli.run("plan", str(cli.manifests), "--state", state, env={"PGPASSWORD": "bad-pw-1"})
    assert wrong.returncode == 1 and "password authentication failed" in wrong.stderr, wrong.stderr
    good = cli.run("apply", str(cli.manifests), "--auto-approve", "--state", state,
                          env={"PGPASSWORD": PASSWORD})
    assert good.returncode == 0, good.stderr
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:*:*:{role}:{PASSWORD}\n")
    passfile.chmod(0o600)
    by_file = cli.run("plan", str(cli.manifests), "--state", state,
                             env={"PGPASSFILE": str(passfile)})
    assert by_file.returncode == 0 and "No changes" in by_file.stdout, by_file.stderr


def require_password(admin_url: str, role: str) -> None:
    """Make the test server ask ``role`` for its password (it trusts every local user)."""
    if os.environ.get("YOTTACTL_TEST_POSTGRES_URL"):
        return  # an external server is expected to authenticate its roles already
    (hba,) = sql(admin_url, "SHOW hba_file")[0]
    rules = Path(str(hba)).read_text()
    line = f"local all {role} scram-sha-256\nhost all {role} all scram-sha-256\n"
    if line not in rules:
        Path(str(hba)).write_text(line + rules)
    sql(admin_url, "SELECT pg_reload_conf()")
    with pytest.raises(psycopg.OperationalError, match="password"):
        base = urlsplit(admin_url)
        psycopg.connect(urlunsplit(base._replace(netloc=f"{role}@")), connect_timeout=5).close()


def test_a_runner_that_lost_its_lock_is_fenced_and_its_journal_survives(pg_state: str) -> None:
    """The advisory lock lives as long as the holder's database session: a runner whose session
    dropped (network, server restart) may still be working when another run takes the lock.
    Both read serial N; the new holder writes N+1 and clears ITS journal at the end; the old
    one's write is refused, and its journal rows survive for the next run to fold."""
    from reconciler.errors import StateError
    from reconciler.state.backend import open_backend
    from reconciler.state.model import State, StateEntry
    from reconciler.state.records import IntentRecord, StateRecord

    def entry(i: int) -> StateEntry:
        return StateEntry(id=str(10**17 + i), spec={"image": "img:1", "workers": i})

    setup, stale, holder, after = (open_backend(pg_state) for _ in range(4))
    try:
        base = setup.write(State.empty().with_entry("a", entry(1)))
        seen_stale = stale.read()
        assert seen_stale == base and stale.journal_records() == []  # it starts a run
        lost = [IntentRecord(deployment="late", op="create", spec={"image": "img:9"}),
                StateRecord(deployment="late", entry=entry(9))]
        stale.journal(lost[0])  # still working without its lock
        seen = holder.read()
        assert seen == base and holder.journal_records() == [lost[0]]  # the holder folds it
        holder.journal(StateRecord(deployment="b", entry=entry(2)))
        won = holder.write(seen.with_entry("b", entry(2)))
        stale.journal(lost[1])  # appended after the holder read the journal
        holder.clear_journal()  # the holder's run ends
        with pytest.raises(StateError, match="changed since this run read it") as refused:
            stale.write(seen_stale.with_entry("late", entry(9)))
        assert "journal stays in the database" in refused.value.detail
        assert after.read() == won
        assert after.journal_records() == [lost[1]]  # the unfolded row was not cleared
    finally:
        for backend in (setup, stale, holder, after):
            backend.close()


def test_plan_takes_no_lock_and_writes_nothing_so_a_read_only_role_can_plan(
        cli: Cli, pg_database: str) -> None:
    """PR plans run with read-only credentials: plan reads the state and its journal, and
    creates no table, takes no lock, writes no row."""
    from reconciler.state.backend import open_backend

    state = database_url(pg_database, urlsplit(pg_database).path.strip("/"), state="default")
    tables = "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'yottactl_%'"
    cli.write("a")
    fresh = cli.run("plan", str(cli.manifests), "--state", state)
    assert fresh.returncode == 0 and "1 to create" in fresh.stdout, fresh.stderr
    for args in (("state", "history"), ("state", "pull", "--serial", "1")):
        result = cli.run(*args, "--state", state)
        assert "Traceback" not in result.stderr and result.returncode in (0, 1), result.stderr
    assert sql(pg_database, tables) == []  # not even the tables
    assert cli.run("apply", str(cli.manifests), "--auto-approve", "--state",
                          state).returncode == 0
    role = "yottactl_ro_" + urlsplit(pg_database).path.strip("/")[-8:]
    sql(pg_database, f"CREATE ROLE {role} LOGIN")
    sql(pg_database, f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    parts = urlsplit(state)
    read_only = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname or ''}"
                                          + (f":{parts.port}" if parts.port else "")))
    cli.write("a", workers=3)
    holder = open_backend(state)
    try:
        with holder.locked("yottactl apply (holding the lock during the plan)"):
            before = sql(pg_database, "SELECT (SELECT count(*) FROM yottactl_state_versions), "
                                      "(SELECT count(*) FROM yottactl_journal)")
            planned = cli.run("plan", str(cli.manifests), "--state", read_only)
            assert planned.returncode == 0 and "1 to scale" in planned.stdout, planned.stderr
            for args in (("drift", str(cli.manifests)), ("state", "history"),
                         ("state", "pull", "--serial", "1"), ("state", "list")):
                result = cli.run(*args, "--state", read_only)
                assert result.returncode in (0, 2), (args, result.stderr)
            after = sql(pg_database, "SELECT (SELECT count(*) FROM yottactl_state_versions), "
                                     "(SELECT count(*) FROM yottactl_journal)")
            assert before == after
        refused = cli.run("apply", str(cli.manifests), "--auto-approve", "--state", read_only)
        assert refused.returncode == 1 and "permission denied" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        holder.close()


def test_an_apply_whose_state_changed_underneath_is_refused_and_recovered(cli: Cli, pg_state: str) -> None:
    """End to end: while a real `apply` is inside its create, another writer stores a newer
    version (as a runner that took over a lost lock would). The apply's next state write is
    refused with a message saying so; its journal rows stay; the next apply folds them in and
    creates nothing twice."""
    from reconciler.state.backend import open_backend

    cli.env["YOTTACTL_STATE"] = pg_state
    cli.write("one")
    api = cli.client()
    cli.server.emulator.faults.response_delay_ms = 2000  # created at once, answered later
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", str(cli.manifests),
                             "--auto-approve"], env={**os.environ, **cli.env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not api.list() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert api.list(), "the create must have landed while the apply waits for its answer"
    other = open_backend(pg_state)
    try:
        seen = other.read()
        assert seen is not None and seen.serial >= 1  # the apply checkpointed before its calls
        other.write(seen)  # the other writer's version: serial + 1
    finally:
        other.close()
    out, err = proc.communicate(timeout=120)
    cli.server.emulator.faults.response_delay_ms = 0
    assert proc.returncode == 1, out + err
    assert "refusing to write the state" in err and "changed since this run read it" in err, err
    assert "journal stays in the database" in err and "Traceback" not in err, err
    assert sql(pg_state, "SELECT count(*) FROM yottactl_journal")[0][0] > 0  # not lost
    again = cli.subprocess("apply", str(cli.manifests), "--auto-approve")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "will be created" not in again.stdout and "adopted" not in again.stdout, again.stdout
    assert names_and_counts(cli) == {"one": 1}
    state = json.loads(cli.subprocess("state", "pull").stdout)
    assert {n: e["id"] for n, e in state["deployments"].items()} == {
        d.name: d.id for d in api.list()}  # the refused run's create, recorded from its journal
    assert sql(pg_state, "SELECT count(*) FROM yottactl_journal") == [(0,)]


@pytest.mark.parametrize(("url", "message"), [
    ("postgresql://yt:pw-secret-9@[::1/infra?state=x", "Invalid IPv6 URL"),
    ("postgresql://yt:pw-secret-9@db:notaport/infra?state=x", "Port could not be cast"),
    ("postgresql://yt:p@ss:pw-secret-9@/infra?host=/tmp&state=x", "'@' in the user or password"),
])
def test_a_malformed_url_is_a_clean_error_that_hides_the_password(cli: Cli, url: str,
                                                                  message: str) -> None:
    result = cli("state", "list", "--state", url)
    assert result.exit_code == 1, result.output
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "pw-secret-9" not in result.stderr + result.output and "ss:" not in result.stderr


def test_a_url_with_an_empty_authority_reaches_the_socket_it_names(cli: Cli,
                                                                   pg_database: str) -> None:
    """R-22 finding 6: libpq's `postgresql:///DB?host=/socket/dir&user=U` form lost its `//` on
    the way (urlunsplit) and libpq refused `postgresql:/DB?host...` as a keyword string."""
    from urllib.parse import parse_qsl, urlencode

    parts = urlsplit(pg_database)
    where = dict(parse_qsl(parts.query))  # the test server: host=/socket/dir, or a TCP host
    where.setdefault("host", parts.hostname or "")
    where["user"] = parts.username or "postgres"
    if parts.port:
        where["port"] = str(parts.port)
    if parts.password:
        where["password"] = parts.password
    url = f"postgresql://{parts.path}?{urlencode({**where, 'state': 'prod'})}"
    assert url.startswith("postgresql:///") and where["host"], url  # the form under test
    cli.write("a")
    done = cli("apply", str(cli.manifests), "--auto-approve", "--adopt", "--state", url)
    assert done.exit_code == 0, done.output
    listed = cli("state", "list", "--state", url)
    assert listed.exit_code == 0 and "a" in listed.output.split(), listed.output
    assert sql(pg_database, "SELECT DISTINCT name FROM yottactl_state_versions") == [("prod",)]
