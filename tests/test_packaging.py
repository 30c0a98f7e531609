"""Installs that work where users install: the wheel alone runs `yottactl demo`, the sdist
carries what its tests need, the metadata has a license, classifiers and URLs, and the
dependency floors are all declared (CI installs them; see .ci/run)."""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".git", ".venv", ".hypothesis", ".mypy_cache", ".ruff_cache", ".pytest_cache",
        ".import_linter_cache", "__pycache__", "build", "dist"}


def tracked_tree(dest: Path) -> Path:
    """The project as a clean clone would have it (no venv, caches or build output)."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIP or n.endswith(".egg-info") or n.startswith(".venv") or
                (Path(folder).name == "state" and n != ".gitkeep")}

    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(wheel, sdist) built offline from a copy of the project with the setuptools backend."""
    base = tmp_path_factory.mktemp("build")
    source = tracked_tree(base / "src")
    out = base / "dist"
    out.mkdir()
    built = []
    for kind in ("sdist", "wheel"):  # one process each: build_sdist leaves state behind
        script = ("import sys; from setuptools import build_meta as b; "
                  f"print('BUILT', b.build_{kind}(sys.argv[1]))")
        done = subprocess.run([sys.executable, "-c", script, str(out)], cwd=source,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        built += [x.split()[1] for x in done.stdout.splitlines() if x.startswith("BUILT ")]
    sdist, wheel = built
    return out / wheel, out / sdist


def test_packaged_examples_match_the_repository_examples() -> None:
    packaged = ROOT / "reconciler" / "data" / "examples"
    repo = ROOT / "examples" / "manifests"
    names = sorted(p.relative_to(repo) for p in repo.rglob("*.yaml"))
    assert names == sorted(p.relative_to(packaged) for p in packaged.rglob("*.yaml"))
    for name in names:
        assert filecmp.cmp(repo / name, packaged / name, shallow=False), \
            f"copy examples/manifests/{name} to reconciler/data/examples/{name}"


def test_demo_runs_from_the_wheel_alone(built: tuple[Path, Path], tmp_path: Path) -> None:
    wheel, _ = built
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(site)
    assert "reconciler/data/examples/llama-inference.yaml" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE")
               for n in names)
    elsewhere = tmp_path / "elsewhere"  # no examples/ folder here: only the wheel's files
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOTTA", "PYTHON"))}
    env["PYTHONPATH"] = str(site)
    where = subprocess.run([sys.executable, "-c", "import reconciler; print(reconciler.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True)
    assert where.stdout.startswith(str(site)), where  # precondition: the wheel's copy is used
    result = subprocess.run([sys.executable, "-m", "reconciler", "demo", "--transition-seconds",
                             "0"], cwd=elsewhere, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Demo complete" in result.stdout


def test_sdist_carries_what_its_tests_need(built: tuple[Path, Path], tmp_path: Path) -> None:
    _, sdist = built
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
        archive.extractall(tmp_path, filter="data")
    needed = ["LICENSE", "README.md", "pyproject.toml", ".pre-commit-hooks.yaml", ".ci/run",
              "schema/manifest-v1.schema.json"]
    for folder in ("tests", "examples"):
        needed += shipped_files(ROOT, folder)
    missing = sorted(set(needed) - names)
    assert not missing, missing
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # the unpacked sdist's suite is importable and collects (conftest, helpers, case folders)
    unpacked = tmp_path / top
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    collect = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                              "no:xdist", "tests/test_manifests.py", "tests/test_planner_cases.py"],
                             cwd=unpacked, env=env, capture_output=True, text=True, timeout=600)
    assert collect.returncode == 0, collect.stdout[-2000:] + collect.stderr[-2000:]
    assert "tests/test_manifests.py: " in collect.stdout  # counts: -q twice (addopts)


def shipped_files(root: Path, folder: str) -> list[str]:
    """The files under ``folder`` a clean clone has: in a git checkout, the tracked and the
    untracked-but-not-ignored ones (a walkthrough's git-ignored state files are not the
    project's); in an unpacked sdist (no .git), every file."""
    if (root / ".git").exists():
        listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard", "--", folder],
                                capture_output=True, text=True, check=True).stdout
        return sorted(n for n in listed.split("\0") if n and (root / n).is_file()
                      and "__pycache__" not in n)
    return sorted(str(p.relative_to(root)) for p in (root / folder).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


def test_a_walkthroughs_ignored_state_files_are_not_asked_of_the_sdist(tmp_path: Path) -> None:
    """The README's Environments walkthrough leaves state files in examples/environments/state/
    (git-ignored): the sdist test must not then demand them (issue 25)."""
    repo = tmp_path / "repo"
    state = repo / "examples" / "environments" / "state"
    state.mkdir(parents=True)
    (repo / ".gitignore").write_text((ROOT / ".gitignore").read_text())
    (repo / "examples" / "environments" / "yottactl.yaml").write_text("manifests: manifests\n")
    (state / "staging.state.json").write_text("{}")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert state.joinpath("staging.state.json").is_file()  # precondition: the file is there
    assert shipped_files(repo, "examples") == ["examples/environments/yottactl.yaml"]
    (repo / ".git").rename(repo / "not-git")  # an unpacked sdist: every file counts
    assert len(shipped_files(repo, "examples")) == 2


def test_metadata_has_license_classifiers_and_urls(built: tuple[Path, Path]) -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")
    # PEP 639: an SPDX expression and license-files (the table form stops building in 2027)
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]  # PEP 639
    assert {"Source", "Issues", "Documentation"} <= set(project["urls"])
    assert all(u.startswith("https://") for u in project["urls"].values())
    # the floor is the lowest Python .ci/run tests on; a classifier for every Python tested
    assert project["requires-python"] == ">=3.11"
    tested = set(re.findall(r"PYTHONS=\(([^)]*)\)", (ROOT / ".ci" / "run").read_text())[0]
                 .replace("python", "").split())
    assert tested == {"3.11", "3.13"}, tested
    versions = {c.rsplit(" ", 1)[1] for c in project["classifiers"]
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}
    assert tested <= versions and min(versions, key=lambda v: int(v[2:])) == "3.11"
    wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    assert "License-Expression: Apache-2.0" in text and "License-File: LICENSE" in text
    assert "Requires-Python: >=3.11" in text and "Project-URL: Source, https://" in text


def test_every_dependency_declares_a_tested_floor() -> None:
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        from min_constraints import floors
    finally:
        sys.path.pop(0)
    pins = dict(line.split("==") for line in floors(ROOT / "pyproject.toml"))
    assert {"pydantic", "click", "deepdiff", "pytest"} <= set(pins)
    commands = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if not line.lstrip().startswith("#")]
    run = "\n".join(commands)  # CI installs the floors and runs tests there (not a comment)
    assert "min_constraints.py > .venv-min/constraints.txt" in run
    assert "-c .venv-min/constraints.txt" in run and ".venv-min/bin/pytest" in run
