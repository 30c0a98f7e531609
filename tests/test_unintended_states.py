"""States that are not what the user meant: a libpq keyword string taken for a file path, a
mistyped or new state that would adopt what is already live, an import without a manifest."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conftest import Cli

KEYWORDS = "host=127.0.0.1 port=5432 dbname=infra user=ops password=Hunter2-PW-9c1"


def _files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("source", ["flag", "env", "project file"])
def test_a_keyword_connection_string_is_refused_never_a_file_named_after_the_password(
        cli: Cli, source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.write("svc")
    env: dict[str, str] = {}
    args = ["apply", "--auto-approve"]
    if source == "flag":
        args += ["--state", KEYWORDS, str(cli.manifests)]
    elif source == "env":
        env["YOTTACTL_STATE"] = KEYWORDS
        args.append(str(cli.manifests))
    else:
        (cli.folder / "yottactl.yaml").write_text(textwrap.dedent(f"""\
            manifests: manifests
            state: {KEYWORDS}
            """))
        env["YOTTACTL_STATE"] = ""
    before = _files_under(cli.folder)
    monkeypatch.chdir(cli.folder)
    cli.env.update(env)
    done = cli(*args)
    assert done.exit_code == 1, done.output
    assert "keyword connection string" in done.output and "postgresql://" in done.output
    assert "Hunter2" not in done.output  # the password is never echoed
    created = _files_under(cli.folder) - before
    assert not [p for p in created if "Hunter2" in p or "password" in p], created
    with cli.client() as client:
        assert client.list() == []  # refused before any deployment was created


@pytest.mark.parametrize("url", ["pg://ops:Hunter2-PW-9c1@localhost/db",
                                 "postgresql+psycopg://ops:Hunter2-PW-9c1@db/infra?state=x",
                                 "postgresq://ops:Hunter2-PW-9c1@db/infra"])
@pytest.mark.parametrize("source", ["flag", "env", "project file"])
def test_a_url_of_another_scheme_is_refused_never_a_folder_named_after_the_password(
        cli: Cli, source: str, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """R-22 finding 5: `pg://user:pw@host/db` was a file path (folders `pg:/user:pw@host`) and
    a warning printed it, password included."""
    cli.write("svc")
    args = ["apply", "--auto-approve", "--adopt"]
    if source == "flag":
        args += ["--state", url]
    elif source == "env":
        cli.env["YOTTACTL_STATE"] = url
    else:
        (cli.folder / "yottactl.yaml").write_text(f"manifests: manifests\nstate: '{url}'\n")
        cli.env["YOTTACTL_STATE"] = ""
    before = _files_under(cli.folder)
    monkeypatch.chdir(cli.folder)
    done = cli(*args, *(["manifests"] if source != "project file" else []))
    assert done.exit_code == 1, done.output
    scheme = url.split("://")[0]
    assert f"{scheme}:// URL" in done.output and "postgresql://" in done.output, done.output
    assert "Hunter2" not in done.output and "Traceback" not in done.output
    assert _files_under(cli.folder) == before  # no folder named after the password, no lock
    with cli.client() as client:
        assert client.list() == []


def test_a_path_and_a_url_are_not_taken_for_keyword_strings() -> None:
    from reconciler.state.backend import keyword_names

    assert keyword_names("state/yottactl.state.json") == []
    assert keyword_names("state/a=b.json") == []
    assert keyword_names("postgresql://u:host=x@db/infra?state=prod") == []
    assert keyword_names("dbname=infra") == ["dbname"]
    assert keyword_names("/repo/host=db password=x") == ["host", "password"]


def _mutations(cli: Cli) -> int:
    from conftest import stats

    calls = stats(cli.server)
    return sum(calls.get(op, 0) for op in ("endpointCreate", "endpointUpdate", "endpointStop",
                                            "endpointStart", "endpointScale", "endpointDelete"))


def test_a_mistyped_database_state_says_so_and_will_not_adopt_without_adopt(
        cli: Cli, pg_database: str) -> None:
    from test_state_postgres import sql

    prod, typo = pg_database + "&state=prod", pg_database + "&state=prdo"
    cli.write("web")
    cli.write("api")
    first = cli("apply", "--auto-approve", "--state", prod, str(cli.manifests))
    assert first.exit_code == 0, first.output  # a first run against an empty API adopts nothing
    assert "does not exist yet" in first.output and "--adopt" not in first.output
    cli.remove("api")  # prod would now plan api's deletion; the typo'd state must not forget it

    plan = cli("plan", "--state", typo, str(cli.manifests))
    assert plan.exit_code == 0, plan.output
    assert "does not exist yet" in plan.output and "did you mean ?state=prod?" in plan.output
    assert "adopts 1 live deployment(s)" in plan.output and "(web)" in plan.output

    before = _mutations(cli)
    refused = cli("apply", "--auto-approve", "--state", typo, str(cli.manifests))
    assert refused.exit_code == 1, refused.output
    assert "--auto-approve alone does not confirm" in refused.output
    assert "--adopt" in refused.output and "Traceback" not in refused.output
    assert _mutations(cli) == before
    assert sql(prod, "SELECT count(*) FROM yottactl_state_versions WHERE name = 'prdo'") == [(0,)]

    adopted = cli("apply", "--auto-approve", "--adopt", "--state", typo, str(cli.manifests))
    assert adopted.exit_code == 0, adopted.output
    listed = cli("state", "list", "--state", typo)
    assert "web" in listed.output and "api" not in listed.output
    again = cli("apply", "--auto-approve", "--state", typo, str(cli.manifests))
    assert again.exit_code == 0 and "does not exist yet" not in again.output  # exists now


def test_a_new_state_file_beside_live_deployments_needs_adopt_from_a_subfolder(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.write("web")
    assert cli("apply", "--auto-approve", str(cli.manifests)).exit_code == 0  # the project's
    sub = cli.folder / "manifests"  # run from a subfolder: no project file, a new state file
    monkeypatch.chdir(sub)
    cli.env["YOTTACTL_STATE"] = ""  # the default path, relative to here
    planned = cli("plan", ".")
    assert planned.exit_code == 0, planned.output
    assert "does not exist yet" in planned.output and "no yottactl.yaml was found" in planned.output
    before = _mutations(cli)
    files_before = _files_under(sub)
    refused = cli("apply", "--auto-approve", ".")
    assert refused.exit_code == 1, refused.output
    new_state = sub / "state" / "yottactl.state.json"
    assert "--adopt" in refused.output and not new_state.exists()
    assert _mutations(cli) == before
    # "nothing was changed": no state/ folder nor lock file either (R-22 finding 10)
    assert _files_under(sub) == files_before
    saved = cli("plan", ".", "--out", str(cli.folder / "p.json"))
    assert saved.exit_code == 0, saved.output
    from_plan = cli("apply", "--plan", str(cli.folder / "p.json"))
    assert from_plan.exit_code == 1 and "--adopt" in from_plan.output  # a saved plan too
    assert not new_state.exists() and _files_under(sub) == files_before
    adopted = cli("apply", "--auto-approve", "--adopt", ".")
    assert adopted.exit_code == 0, adopted.output
    assert new_state.exists() and _mutations(cli) == before


def _console_made(cli: Cli, name: str) -> str:
    from reconciler.api.models import CreateRequest

    from conftest import create_body

    with cli.client() as client:
        return client.create(CreateRequest.model_validate(create_body(name))).id


def test_import_of_a_name_no_manifest_defines_is_refused(cli: Cli) -> None:
    cli.write("web")
    assert cli("apply", "--auto-approve", str(cli.manifests)).exit_code == 0
    before = cli.state.read_text()
    legacy = _console_made(cli, "legacy")
    refused = cli("import", "legacy", legacy, str(cli.manifests))
    assert refused.exit_code == 1, refused.output
    assert "no manifest in" in refused.output and "is named 'legacy'" in refused.output
    assert "--allow-unmanaged" in refused.output and "Traceback" not in refused.output
    assert cli.state.read_text() == before  # nothing recorded
    planned = cli("plan", "--detailed-exitcode", str(cli.manifests))
    assert planned.exit_code == 0 and "will be deleted" not in planned.output


def test_import_allow_unmanaged_is_kept_never_deleted_until_a_manifest_takes_it(
        cli: Cli) -> None:
    import json

    cli.write("web")
    assert cli("apply", "--auto-approve", str(cli.manifests)).exit_code == 0
    assert "keep_without_manifest" not in cli.state.read_text()  # a default is never written
    legacy = _console_made(cli, "legacy")
    done = cli("import", "legacy", legacy, str(cli.manifests), "--allow-unmanaged")
    assert done.exit_code == 0, done.output
    assert json.loads(cli.state.read_text())["deployments"]["legacy"]["keep_without_manifest"]

    planned = cli("plan", "--detailed-exitcode", str(cli.manifests))
    assert planned.exit_code == 0, planned.output  # nothing to do: kept, not deleted
    assert "Not in manifests, kept" in planned.output and f"= legacy  id {legacy}" in planned.output
    as_json = json.loads(cli("plan", "-o", "json", str(cli.manifests)).output)
    (kept,) = [c for c in as_json["changes"] if c["name"] == "legacy"]
    assert (kept["action"], kept["reason_code"]) == ("no-op", "kept")
    assert kept["reason"].startswith("not in manifests: kept")
    applied = cli("apply", "--auto-approve", str(cli.manifests))
    assert applied.exit_code == 0, applied.output
    with cli.client() as client:
        assert legacy in {d.id for d in client.list()}
        client.scale(legacy, 3)  # changed in the console, then accepted into the state
    for recorded in (["apply", "--refresh-only", "--auto-approve"],
                     ["restart", "legacy", "--auto-approve"]):  # neither comes from a manifest
        assert cli(*recorded).exit_code == 0
        assert json.loads(cli.state.read_text())["deployments"]["legacy"]["keep_without_manifest"]
    assert "will be deleted" not in cli("plan", str(cli.manifests)).output

    cli.write("legacy")  # a manifest takes it over: managed as any other from now on
    assert cli("apply", "--auto-approve", str(cli.manifests)).exit_code == 0
    assert "keep_without_manifest" not in cli.state.read_text()
    cli.remove("legacy")
    removed = cli("plan", str(cli.manifests))
    assert "legacy will be deleted" in removed.output, removed.output


def test_on_a_terminal_the_prompt_says_it_adopts_into_a_new_state(cli: Cli) -> None:
    cli.write("web")
    assert cli("apply", "--auto-approve", str(cli.manifests)).exit_code == 0
    other = cli.folder / "other" / "yottactl.state.json"
    cli.env["YOTTACTL_STATE"] = str(other)
    code, out = cli.apply_on_tty(b"no\n")
    assert code == 1 and "This is a new state, and applying adopts 1 live deployment(s)" in out
    assert not other.exists()
    code, out = cli.apply_on_tty(b"yes\n")
    assert code == 0, out
    assert "web" in other.read_text()


def test_a_new_state_written_while_the_prompt_waits_is_planned_against_again(cli: Cli) -> None:
    """A new state is planned and confirmed before the lock is taken (so a refusal leaves no
    lock file); under the lock it must still not exist. If another apply wrote it while this
    one waited at its prompt, this one plans again against it: no second create of the name,
    no journal left behind, and nothing left to do."""
    import os
    import pty
    import subprocess
    import sys

    cli.write("web")
    assert not cli.state.exists()  # precondition: a new state
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", str(cli.manifests)],
                            env={**os.environ, **cli.env}, stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    os.close(slave)
    assert proc.stdout is not None
    shown = b""
    while b"Only 'yes' will be accepted:" not in shown:  # the prompt waits for an answer
        chunk = os.read(proc.stdout.fileno(), 4096)
        assert chunk, shown.decode()
        shown += chunk
    assert b"web will be created" in shown
    meanwhile = cli("apply", "--auto-approve", str(cli.manifests))
    assert meanwhile.exit_code == 0, meanwhile.output
    os.write(master, b"yes\n")
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    with cli.client() as client:
        assert [d.name for d in client.list()] == ["web"], out.decode()  # the other run's only
    assert proc.returncode == 0, out.decode()
    assert "was written by another run while this one was planned: planning again" in out.decode()
    assert "No changes" in out.decode().split("planning again", 1)[1], out.decode()
    assert not cli.state.with_name(cli.state.name + ".journal").exists()
