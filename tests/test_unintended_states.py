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
        cli: Cli, source: str) -> None:
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
    done = cli.subprocess(*args, cwd=cli.folder, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "keyword connection string" in done.stderr and "postgresql://" in done.stderr
    assert "Hunter2" not in done.stdout + done.stderr  # the password is never echoed
    assert "Traceback" not in done.stderr
    created = _files_under(cli.folder) - before
    assert not [p for p in created if "Hunter2" in p or "password" in p], created
    with cli.client() as client:
        assert client.list() == []  # refused before any deployment was created


def test_a_path_and_a_url_are_not_taken_for_keyword_strings() -> None:
    from reconciler.state.backend import keyword_names

    assert keyword_names("state/yottactl.state.json") == []
    assert keyword_names("state/a=b.json") == []
    assert keyword_names("postgresql://u:host=x@db/infra?state=prod") == []
    assert keyword_names("dbname=infra") == ["dbname"]
    assert keyword_names("/repo/host=db password=x") == ["host", "password"]
