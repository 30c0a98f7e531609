"""State format versions: every older format is read (migrated on read, written as the current
one); a newer format is refused as newer (upgrade yottactl), never as "malformed", and nothing
is written. Files in tests/release_files/ were written by earlier builds:

* ``v1.state.json``: the first release (format 1, no ``ignore_changes`` / ``renamed_from``);
* ``v1_lifecycle.state.json``: the build before the bump to format 2 (still labelled 1, but its
  entries hold ``ignore_changes`` and ``renamed_from``: what an older build refused as
  "malformed").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reconciler.state.backend import StateFile
from reconciler.state.model import FORMAT_VERSION

from conftest import Cli

FILES = Path(__file__).parent / "release_files"
OLDER = {"v1.state.json": 1, "v1_lifecycle.state.json": 1}


def _newer_file(path: Path) -> bytes:
    """A state written by a future build: the next format, with a field this build lacks."""
    data = json.loads((FILES / "v1_lifecycle.state.json").read_text())
    data["format_version"] = FORMAT_VERSION + 1
    data["deployments"]["web"]["rollout_policy"] = {"maxUnavailable": 1}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path.read_bytes()


@pytest.mark.parametrize("name", sorted(OLDER))
def test_every_older_format_is_read_and_written_back_as_the_current_one(
        tmp_path: Path, name: str) -> None:
    original = json.loads((FILES / name).read_text())
    assert original["format_version"] == OLDER[name] < FORMAT_VERSION  # precondition
    shutil.copy(FILES / name, tmp_path / "s.json")
    store = StateFile(tmp_path / "s.json")
    state = store.read()
    assert state is not None and state.format_version == FORMAT_VERSION
    assert (state.lineage, state.serial) == (original["lineage"], original["serial"])
    now = json.loads(state.model_dump_json())
    for key, entry in original["deployments"].items():  # every field the old file held, as held
        assert {k: now["deployments"][key][k] for k in entry} == entry, key
    store.write(state)
    written = json.loads((tmp_path / "s.json").read_text())
    assert written["format_version"] == FORMAT_VERSION
    assert written["deployments"] == now["deployments"]
    assert json.loads((tmp_path / "s.json.backup").read_text()) == original  # kept as it was


def test_fields_added_under_format_1_survive_the_migration(tmp_path: Path) -> None:
    shutil.copy(FILES / "v1_lifecycle.state.json", tmp_path / "s.json")
    state = StateFile(tmp_path / "s.json").read()
    assert state is not None
    assert state.deployments["web"].ignore_changes == ("workers",)
    assert state.deployments["web"].prevent_destroy
    assert state.deployments["api"].renamed_from == "api-old"


@pytest.mark.parametrize("args", [["plan"], ["apply", "--auto-approve"], ["state", "list"],
                                  ["state", "rm", "web"]])
def test_a_newer_format_is_refused_as_newer_and_nothing_is_written(
        cli: Cli, args: list[str]) -> None:
    before = _newer_file(cli.state)
    cli.write("web")
    full = [*args, str(cli.manifests)] if args[0] in ("plan", "apply") else args
    result = cli.subprocess(*full)
    assert result.returncode == 1, result.stderr
    assert f"format_version {FORMAT_VERSION + 1}, a newer format" in result.stderr
    assert "upgrade yottactl" in result.stderr
    assert "malformed" not in result.stderr and "Traceback" not in result.stderr
    assert cli.state.read_bytes() == before
    siblings = {p.name for p in cli.state.parent.iterdir()} - {cli.state.name}
    assert not siblings & {cli.state.name + ".backup", cli.state.name + ".journal"}
    with cli.client() as client:
        assert client.list() == []  # no API call changed anything


@pytest.mark.parametrize("version", [0, None, "2", True])
def test_a_format_version_that_never_existed_is_refused_without_upgrade_advice(
        tmp_path: Path, version: object) -> None:
    from reconciler.errors import StateError

    (tmp_path / "s.json").write_text(json.dumps({"format_version": version, "lineage": "x"}))
    with pytest.raises(StateError, match="this yottactl reads versions 1 to") as caught:
        StateFile(tmp_path / "s.json").read()
    assert "upgrade" not in str(caught.value) + (caught.value.hint or "")


def test_postgres_refuses_a_newer_stored_document_and_reads_older_ones(
        cli: Cli, pg_state: str, tmp_path: Path) -> None:
    from test_state_postgres import sql

    cli.state.parent.mkdir(parents=True)
    shutil.copy(FILES / "v1_lifecycle.state.json", cli.state)
    migrated = cli("state", "migrate", "--to", pg_state)
    assert migrated.exit_code == 0, migrated.output
    listed = cli("state", "list", "--state", pg_state)
    assert listed.exit_code == 0 and "api" in listed.stdout and "web" in listed.stdout
    [(body,)] = sql(pg_state, "SELECT body FROM yottactl_state_versions")
    assert json.loads(str(body))["format_version"] == FORMAT_VERSION  # written as current
    newer = json.loads(str(body))
    newer["format_version"] = FORMAT_VERSION + 1
    sql(pg_state, "UPDATE yottactl_state_versions SET body = "
                  f"'{json.dumps(newer)}'")
    cli.env["YOTTACTL_STATE"] = pg_state
    cli.write("web")
    result = cli.subprocess("apply", str(cli.manifests), "--auto-approve")
    assert result.returncode == 1 and "a newer format" in result.stderr, result.stderr
    assert "upgrade yottactl" in result.stderr and "Traceback" not in result.stderr
    assert sql(pg_state, "SELECT count(*) FROM yottactl_state_versions") == [(1,)]
    assert sql(pg_state, "SELECT count(*) FROM yottactl_journal") == [(0,)]
