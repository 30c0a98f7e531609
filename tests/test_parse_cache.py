"""The manifest parse cache (`.yottactl/cache`): the same documents as the YAML reader, only ever
read when this user made it, never a source of secrets, never a reason for a run to fail."""

from __future__ import annotations

import marshal
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from reconciler.manifest import fastyaml
from reconciler.manifest.loader import MAX_DEPTH
from reconciler.manifest.parse_cache import FILE, ParseCache
from reconciler.manifest.scalars import PlainText

from conftest import CANARY, Cli

ROOT = Path(__file__).parent.parent
TEXTS = sorted({*ROOT.glob("examples/**/*.yaml"), *(ROOT / "tests/manifest_cases").glob("*.yaml")}
               - {ROOT / "tests/manifest_cases/billion_laughs.yaml"})  # its own test below
ALIASES = """\
base: &b {a: 1, b: [x, y]}
one: *b
two: *b
spec:
  environmentVars: {V: 3.10, W: 01234, X: "quoted", Y: yes}
---
[1, 2.5, -3, .inf, null, true, "t"]
"""


def opened(folder: Path, secret: str = "key") -> ParseCache:
    """The cache in ``folder``, keyed by the secret file ``secret`` (kept beside, not inside)."""
    return ParseCache(folder, folder.parent / f"{folder.name}.{secret}")


def typed(node: Any) -> Any:
    """The document with every value's exact type beside it (PlainText is not str)."""
    if isinstance(node, dict):
        return {(type(k).__name__, k): typed(v) for k, v in node.items()}
    if isinstance(node, list):
        return [typed(v) for v in node]
    return (type(node).__name__, node)


def parsed_or_none(text: str) -> Any:
    try:
        return fastyaml.load_all(text, MAX_DEPTH)
    except Exception:  # a case file that is meant to fail: nothing is cached for it
        return None


def test_cached_documents_equal_the_readers_with_their_types(tmp_path: Path) -> None:
    texts = [ALIASES] + [p.read_text(errors="replace") for p in TEXTS]
    expected = [parsed_or_none(t) for t in texts]
    assert sum(e is not None for e in expected) > 20  # precondition: real manifests, not errors
    first = opened(tmp_path)
    for text, want in zip(texts, expected, strict=True):
        if want is not None:
            assert typed(first.parse(text, MAX_DEPTH)) == typed(want)
    first.close()
    again = opened(tmp_path)
    for text, want in zip(texts, expected, strict=True):
        if want is not None:
            got = again.parse(text, MAX_DEPTH)
            assert typed(got) == typed(want)
    # a YAML timestamp (a drift acknowledgement's `expires:`) cannot be kept: parsed each time
    stamped = sum(e is not None and ("'date'" in repr(typed(e)) or "'datetime'" in repr(typed(e)))
                  for e in expected)
    assert stamped >= 1
    assert again.misses == stamped
    assert again.hits == sum(e is not None for e in expected) - stamped
    shared = again.parse(ALIASES, MAX_DEPTH)[0]
    assert shared["one"] is shared["two"]  # aliases stay shared: no blow-up through the cache
    assert type(shared["spec"]["environmentVars"]["V"]) is PlainText
    assert shared["spec"]["environmentVars"]["V"] == "3.10"


def test_an_alias_bomb_stays_small_through_the_cache(tmp_path: Path) -> None:
    text = (ROOT / "tests/manifest_cases/billion_laughs.yaml").read_text()
    for _ in range(2):  # a miss, then a hit: both linear in the text, not in the expansion
        cache = opened(tmp_path)
        documents = cache.parse(text, MAX_DEPTH)
        cache.close()
    assert cache.hits == 1
    assert documents[0]["b"][0] is documents[0]["b"][1]  # shared, as the reader made it
    assert (tmp_path / FILE).stat().st_size < 64 * 1024


def test_an_edited_file_is_a_miss_and_errors_are_never_cached(tmp_path: Path) -> None:
    cache = opened(tmp_path)
    cache.parse("a: 1\n", MAX_DEPTH)
    with pytest.raises(fastyaml.YamlStructureError):
        cache.parse("a: 1\na: 2\n", MAX_DEPTH)
    cache.close()
    again = opened(tmp_path)
    assert again.parse("a: 2\n", MAX_DEPTH) == [{"a": 2}] and again.misses == 1
    with pytest.raises(fastyaml.YamlStructureError):
        again.parse("a: 1\na: 2\n", MAX_DEPTH)


def poison(folder: Path, text: str, document: Any) -> None:
    """Replace the cached documents of ``text`` (as an attacker with write access would)."""
    with sqlite3.connect(folder / FILE) as db:
        (count,) = db.execute("SELECT count(*) FROM documents").fetchone()
        assert count == 1  # precondition: the one entry is the one we poison
        db.execute("UPDATE documents SET value = ?", (marshal.dumps([document]),))


def poisoned(tmp_path: Path, text: str) -> Path:
    """A cache folder whose one entry (for ``text``) says image "evil"; checks it is read."""
    folder = tmp_path / "c"
    made = opened(folder)
    made.parse(text, MAX_DEPTH)
    made.close()
    assert oct((folder / FILE).stat().st_mode & 0o777) == "0o600"
    poison(folder, text, {"spec": {"image": "evil"}})
    # precondition: our own cache, with our secret, is believed: the tests can see a read
    assert opened(folder).parse(text, MAX_DEPTH) == [{"spec": {"image": "evil"}}]
    return folder


HONEST = "spec: {image: honest}\n"


def test_a_cache_this_user_did_not_make_is_never_read(tmp_path: Path) -> None:
    folder = poisoned(tmp_path, HONEST)
    (folder / FILE).chmod(0o644)  # as `git checkout` writes a committed file (umask 022)
    cache = opened(folder)
    assert cache.parse(HONEST, MAX_DEPTH) == [{"spec": {"image": "honest"}}]
    cache.close()
    assert oct((folder / FILE).stat().st_mode & 0o777) == "0o644"  # not ours: left alone


def test_a_cache_keyed_by_another_users_secret_only_misses(tmp_path: Path) -> None:
    """A cache committed and checked out under umask 077 is a 0600 file of ours: only the
    secret outside the checkout tells it apart."""
    folder = poisoned(tmp_path, HONEST)
    cache = opened(folder, secret="someone-else")
    assert cache.parse(HONEST, MAX_DEPTH) == [{"spec": {"image": "honest"}}]
    assert cache.misses == 1


def test_no_cache_in_a_folder_others_can_write(tmp_path: Path) -> None:
    folder = poisoned(tmp_path, HONEST)
    folder.chmod(0o777)  # anyone could drop a journal beside the database
    assert opened(folder).parse(HONEST, MAX_DEPTH) == [{"spec": {"image": "honest"}}]
    folder.chmod(0o700)
    (tmp_path / "c.key").chmod(0o644)  # a secret others can read is no secret
    assert opened(folder).parse(HONEST, MAX_DEPTH) == [{"spec": {"image": "honest"}}]


def test_nothing_is_made_through_a_symlinked_yottactl_folder(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / ".yottactl").symlink_to(elsewhere)  # committable
    cache = ParseCache(tmp_path / ".yottactl" / "cache", tmp_path / "secret.key")
    assert cache.parse("a: 1\n", MAX_DEPTH) == [{"a": 1}]
    cache.close()
    assert list(elsewhere.iterdir()) == []


def test_gitignore_is_never_written_through_a_symlink(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir(mode=0o700)
    target = tmp_path / "outside"
    (folder / ".gitignore").symlink_to(target)  # committable
    cache = opened(folder)
    cache.parse("a: 1\n", MAX_DEPTH)
    cache.close()
    assert not target.exists()


def test_a_damaged_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / FILE).write_bytes(b"this is not a database" * 100)
    (tmp_path / FILE).chmod(0o600)
    cache = opened(tmp_path)
    assert cache.parse("a: 1\n", MAX_DEPTH) == [{"a": 1}]
    cache.close()
    made = opened(tmp_path / "fresh")
    made.parse("a: 1\n", MAX_DEPTH)
    made.close()
    with sqlite3.connect(tmp_path / "fresh" / FILE) as db:
        db.execute("UPDATE documents SET value = ?", (b"\xff\x00garbage",))
    assert opened(tmp_path / "fresh").parse("a: 1\n", MAX_DEPTH) == [{"a": 1}]


def test_stale_entries_are_pruned(tmp_path: Path) -> None:
    made = opened(tmp_path)
    made.parse("a: 1\n", MAX_DEPTH)
    made.close()
    with sqlite3.connect(tmp_path / FILE) as db:
        db.executemany("INSERT INTO documents VALUES (?, ?)",
                       ((os.urandom(20), marshal.dumps([i])) for i in range(1100)))
    cache = opened(tmp_path)
    cache.parse("a: 1\n", MAX_DEPTH)
    cache.parse("b: 2\n", MAX_DEPTH)  # a miss: the run writes, and prunes
    cache.close()
    with sqlite3.connect(tmp_path / FILE) as db:
        assert db.execute("SELECT count(*) FROM documents").fetchone() == (2,)


def test_plan_uses_the_cache_in_the_working_directory_and_stores_no_secret(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    del cli.env["YOTTACTL_CACHE_DIR"]  # the default: .yottactl/cache here
    cli.write("llama")
    (cli.manifests / "secret.yaml").write_text(
        (cli.manifests / "llama.yaml").read_text().replace("name: llama", "name: other"))
    first = cli("plan", str(cli.manifests))
    folder = tmp_path / ".yottactl" / "cache"
    assert first.exit_code == 0, first.output
    assert (folder / FILE).is_file() and (folder / ".gitignore").read_text().endswith("*\n")
    assert "${env:HF_TOKEN}" in (cli.manifests / "llama.yaml").read_text()  # a secret is used
    assert CANARY.encode() not in (folder / FILE).read_bytes()
    second = cli("plan", str(cli.manifests))
    assert second.stdout == first.stdout
    cli.env["YOTTACTL_CACHE_DIR"] = "off"
    assert cli("plan", str(cli.manifests)).stdout == first.stdout


def test_cache_off_makes_no_folder(cli: Cli, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cli.env["YOTTACTL_CACHE_DIR"] = "off"
    cli.write("llama")
    assert cli("plan", str(cli.manifests)).exit_code == 0
    assert not (tmp_path / ".yottactl").exists()


def test_reading_through_the_cache_leaves_no_cyclic_garbage(tmp_path: Path) -> None:
    """Planning runs with the cyclic GC off (workflow._no_gc_pauses): a reference cycle per
    document would keep every document alive (+38 MiB at 10,000 deployments)."""
    import gc

    texts = [f"spec: {{image: i{i}, environmentVars: {{A: {i}}}}}\n" for i in range(50)]
    made = opened(tmp_path)
    for text in texts:
        made.parse(text, MAX_DEPTH)
    made.close()
    gc.collect()
    gc.disable()
    try:
        cache = opened(tmp_path)
        for text in texts:
            cache.parse(text, MAX_DEPTH)
        cache.close()
        assert cache.hits == 50  # precondition: the reads went through the cache
        assert gc.collect() == 0
    finally:
        gc.enable()
