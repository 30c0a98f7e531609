"""The release build is reproducible, and the recipes' install of it works (issue 25).

1. Builds the project twice, exactly as examples/ci/github/yottactl-release.yml does
   (`python -m build --no-isolation`, SOURCE_DATE_EPOCH = the time of the last commit that
   changed the wheel's inputs), each from its own
   copy of the tracked files at a different path, and requires byte-identical wheels.
2. Installs that wheel the way the recipes do (`pip install --no-deps --require-hashes -r
   requirements.txt`, their requirements.txt with yottactl's hash set to this wheel's, since
   this commit's release would publish exactly this file) into a fresh venv outside the
   checkout, with the Python given as the argument (.ci/run passes the recipes' 3.12 when the
   machine has it), and runs `yottactl demo` there.
3. Checks the pins' closure on what that install put in the venv (the pinned versions' own
   metadata, not whatever the CI venv resolved today): every dependency of yotta-reconciler
   [postgres] is pinned, at a version that satisfies its dependant, nothing pinned is unused,
   and `pip check` agrees.

Run by .ci/run with the CI venv's Python (build, setuptools); needs git and the package index.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "examples" / "ci" / "github" / "requirements.txt"
WHEEL_INPUTS = ["pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "reconciler"]
PIN = re.compile(r"^yotta-reconciler(\[[\w,]+\])?==(?P<version>\S+)((?:\s*\\\n\s*--hash=sha256:[0-9a-f]{64})+)",
                 re.MULTILINE)


def run(args: list[str | Path], **kw: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if done.returncode:
        sys.exit(f"release check: {' '.join(map(str, args))} failed:\n{done.stdout[-3000:]}"
                 f"{done.stderr[-3000:]}")
    return done  # type: ignore[no-any-return]


def build(base: Path, epoch: str) -> Path:
    """The wheel that `python -m build --no-isolation` makes from a copy of the tracked files."""
    source = base / "yotta-reconciler"
    for name in run(["git", "-C", ROOT, "ls-files", "-z"]).stdout.split("\0"):
        if name and (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    env = {**os.environ, "SOURCE_DATE_EPOCH": epoch}
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", base / "dist", source], env=env)
    [wheel] = (base / "dist").glob("*.whl")
    return wheel


def closure_problems(root: str, pins: dict[str, str],
                     requires: Callable[[str], list[str]],
                     environment: dict[str, str]) -> list[str]:
    """What is wrong with `pins` (canonical name -> version) as the whole install of `root` (a
    requirement such as "yotta-reconciler[postgres]") with pip's --no-deps: a dependency not
    pinned, pinned at a version its dependant does not accept, or pinned but unused.
    `requires(name)` is the pinned distribution's Requires-Dist; markers are evaluated for
    `environment` (the recipes' Python and platform) and the extras asked for."""
    from packaging.requirements import Requirement

    problems: list[str] = []
    start = Requirement(root)
    todo, walked = [(canonical(start.name), frozenset(start.extras))], set()
    needed = {canonical(start.name)}
    while todo:
        name, extras = todo.pop()
        if (name, extras) in walked or name not in pins:
            continue
        walked.add((name, extras))
        for spec in requires(name):
            req = Requirement(spec)
            if req.marker and not any(req.marker.evaluate({**environment, "extra": extra})
                                      for extra in extras | {""}):
                continue
            dep = canonical(req.name)
            needed.add(dep)
            if dep not in pins:
                problems.append(f"{name} needs {req}, which is not pinned")
            elif not req.specifier.contains(pins[dep], prereleases=True):
                problems.append(f"{name} needs {req}, but {dep}=={pins[dep]} is pinned")
            else:
                todo.append((dep, frozenset(req.extras)))
    unused = set(pins) - needed
    problems += [f"{name}=={pins[name]} is pinned but nothing needs it" for name in sorted(unused)]
    return problems


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_versions(text: str) -> dict[str, str]:
    """canonical name -> version, from a pip-compile'd requirements.txt."""
    pins = re.findall(r"^([A-Za-z0-9][\w.-]*)(?:\[[\w,]+\])?==(\S+)", text, re.MULTILINE)
    return {canonical(name): version for name, version in pins}


def check_closure(venv: Path, requirements: str) -> None:
    """Step 3, on the venv the recipes' install made."""
    from importlib.metadata import Distribution

    [root] = [line.strip() for line in (REQUIREMENTS.parent / "requirements.in").read_text()
              .splitlines() if line.strip() and not line.startswith("#")]
    [site] = venv.glob("lib/python*/site-packages")
    recipes_python = run([venv / "bin" / "python", "-c",
                          "import platform; print(platform.python_version())"]).stdout.strip()
    environment = {"python_version": ".".join(recipes_python.split(".")[:2]),
                   "python_full_version": recipes_python, "sys_platform": "linux",
                   "platform_system": "Linux", "implementation_name": "cpython",
                   "platform_python_implementation": "CPython", "os_name": "posix"}

    def requires(name: str) -> list[str]:
        [dist] = [d for d in Distribution.discover(path=[str(site)])
                  if canonical(d.metadata["Name"]) == name]
        return dist.requires or []

    problems = closure_problems(root, pinned_versions(requirements), requires, environment)
    if problems:
        sys.exit("release check: the recipes' requirements.txt is not a whole, consistent "
                 "install:\n  " + "\n  ".join(problems) + "\nregenerate it (requirements.in)")
    run([venv / "bin" / "python", "-m", "pip", "check"])
    print(f"release check: the pins' closure holds on their own metadata (Python "
          f"{recipes_python}; `pip check` agrees)")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    # the time of the last commit that changed what goes into the wheel (as the release recipe
    # computes it): pinning the wheel's hash in a later commit does not change the wheel
    epoch = run(["git", "-C", ROOT, "log", "-1", "--format=%ct", "--", *WHEEL_INPUTS]).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="yottactl-release-") as tmp:
        work = Path(tmp)
        first, second = build(work / "one", epoch), build(work / "other-path", epoch)
        if first.read_bytes() != second.read_bytes():
            sys.exit(f"release check: two builds of one commit differ: {sha256(first)} "
                     f"!= {sha256(second)} ({first.name})")
        digest = sha256(first)
        print(f"release check: {first.name} built twice, identical: sha256 {digest}")

        text = REQUIREMENTS.read_text()
        pinned = PIN.search(text)
        if pinned is None or pinned["version"] != version:
            sys.exit(f"release check: {REQUIREMENTS.relative_to(ROOT)} must pin yotta-reconciler"
                     f"=={version} (pyproject.toml's version) with its hash")
        if digest not in pinned[3]:  # main moves on; the pin is made for a release (README)
            print(f"release check: NOTE {REQUIREMENTS.relative_to(ROOT)} pins another wheel than "
                  f"this commit's (sha256 {digest}): regenerate it (requirements.in) in the "
                  f"commit you tag, or the release job refuses the wheel")
        requirements = work / "requirements.txt"
        requirements.write_text(text.replace(pinned[3], f" \\\n    --hash=sha256:{digest}"))
        python = sys.argv[1] if len(sys.argv) > 1 else sys.executable
        venv = work / "venv"
        run([python, "-m", "venv", venv])
        # the recipes' install command; --find-links: this wheel is not on the index yet
        run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", "--require-hashes",
             "-r", requirements, "--find-links", first.parent], cwd=work)
        elsewhere = work / "elsewhere"  # no checkout here: only the installed files
        elsewhere.mkdir()
        env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8"}
        said = run(["yottactl", "--version"], cwd=elsewhere, env=env).stdout.strip()
        demo = run(["yottactl", "demo", "--transition-seconds", "0"], cwd=elsewhere, env=env)
        if said != f"yottactl, version {version}" or "Demo complete" not in demo.stdout:
            sys.exit(f"release check: the installed yottactl said {said!r}:\n{demo.stdout[-2000:]}")
        check_closure(venv, requirements.read_text())
        used = run([venv / "bin" / "python", "--version"]).stdout.strip()
        print(f"release check: installed as the recipes do ({used}, fresh venv outside the "
              f"checkout); `yottactl demo` passed")


if __name__ == "__main__":
    main()
