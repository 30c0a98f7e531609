"""Nothing parsed is kept between runs (issue 22): a stored parse could make `plan` show what the
manifests do not say. A run writes nothing into the checkout or the user's cache folder, and an
old `.yottactl/cache` left by an earlier release is never read."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import Cli


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in sorted(folder.rglob("*"))}


def test_plan_writes_nothing_into_the_checkout_or_the_users_cache(cli: Cli) -> None:
    cli.write("svc", workers=3)
    (cli.folder / "yottactl.yaml").write_text("manifests: manifests\n")
    user_cache = cli.folder / "user-cache"
    user_cache.mkdir()
    before = tree(cli.folder)
    for _ in range(2):  # a second run would read what the first one stored
        result = cli.subprocess("plan", cwd=cli.folder, env={"XDG_CACHE_HOME": str(user_cache)})
        assert result.returncode == 0, result.stderr
        assert "svc" in result.stdout and "workers" in result.stdout
    assert tree(cli.folder) == before


def test_an_old_parse_cache_folder_is_ignored(cli: Cli) -> None:
    cli.write("svc", workers=3)
    (cli.folder / "yottactl.yaml").write_text("manifests: manifests\n")
    old = cli.folder / ".yottactl" / "cache"
    old.mkdir(parents=True)
    (old / ".gitignore").write_text("*\n")
    (old / "parse.sqlite3").write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    os.chmod(old / "parse.sqlite3", 0o000)  # not even readable: it is never opened
    try:
        result = cli.subprocess("plan", "-o", "json", cwd=cli.folder,
                                env={"YOTTACTL_CACHE_DIR": str(old)})
    finally:
        os.chmod(old / "parse.sqlite3", 0o600)
    assert result.returncode == 0, result.stderr
    import json

    created = json.loads(result.stdout)["changes"]
    assert [(c["name"], c["action"]) for c in created] == [("svc", "create")], created
    assert result.stderr == ""
