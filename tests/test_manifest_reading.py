"""Manifest files are read ahead of parsing, within a budget (reconciler/manifest/reading.py):
planning reads them before its list call's thread wants the GIL; past the budget a tree of large
files is still read (and held) one file at a time."""

from __future__ import annotations

from pathlib import Path

from reconciler.manifest.reading import read_ahead


def test_files_within_the_budget_are_read_before_the_first_is_handed_on(tmp_path: Path) -> None:
    files = [tmp_path / f"m{i}.yaml" for i in range(4)]
    for i, file in enumerate(files):
        file.write_bytes(f"n: {i}\n".encode() * 20)  # 100 bytes each
    reading = read_ahead(files, budget=150)  # two files' worth
    first = next(reading)
    for file in files[1:]:  # gone before the rest is asked for
        file.unlink()
    rest = list(reading)
    assert (first[0], first[2]) == (files[0], None) and first[1] == b"n: 0\n" * 20
    assert rest[0][0] == files[1] and rest[0][1] == b"n: 1\n" * 20  # read ahead: still here
    for file, data, problem in rest[1:]:  # past the budget: read when reached, one at a time
        assert data is None and problem is not None
        assert problem.message == "cannot read file: No such file or directory", (file, problem)


def test_everything_is_handed_on_in_order_once(tmp_path: Path) -> None:
    files = [tmp_path / f"m{i}.yaml" for i in range(30)]
    for i, file in enumerate(files):
        file.write_text(f"n: {i}\n")
    missing = tmp_path / "missing.yaml"
    got = list(read_ahead([*files[:10], missing, *files[10:]]))
    assert [file for file, _, _ in got] == [*files[:10], missing, *files[10:]]
    assert [data for _, data, _ in got] == [
        *(f"n: {i}\n".encode() for i in range(10)), None, *(f"n: {i}\n".encode() for i in range(10, 30))]
