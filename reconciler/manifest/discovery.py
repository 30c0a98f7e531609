"""Which manifest files a command reads: the paths given, folders walked in a fixed order, and
the links (to files or folders) met while walking kept inside the folder (or project) they were
found in."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from reconciler.errors import ManifestIssue, UsageError

SUFFIXES = (".yaml", ".yml")


# With no path given (and no `manifests:` in a project file), the first of these folders that
# exists is read, never the whole working tree: dotfiles and CI workflow YAML are not manifests.
CONVENTIONAL_FOLDERS = ("manifests", "deploy")


def default_paths(base: Path | None = None) -> list[str]:
    """The conventional manifest folder under ``base`` (default: the working directory)."""
    root = base or Path(".")
    for folder in CONVENTIONAL_FOLDERS:
        if (root / folder).is_dir():
            return [str(root / folder) if base else folder]
    raise UsageError(
        "no manifest path given, and there is no manifests/ or deploy/ folder here",
        hint="pass the manifest files or folders (e.g. `yottactl plan deploy/`), or list them "
             "under `manifests:` in yottactl.yaml; the working tree as a whole is never read")


def discover(paths: Sequence[str],
             project_root: Path | None = None) -> tuple[list[Path], list[ManifestIssue]]:
    """Files to read, in a deterministic order: given files as-is, directories recursively
    (skipping hidden files and folders). No paths: :func:`default_paths`. A symlink (to a file
    or a folder) found while walking a folder is followed only if it leads inside that folder,
    or inside the project folder when the walked one is in it (a committed link to /etc is
    repository content, not the user's choice); the others are issues naming the link. A file
    named directly is read wherever it is."""
    found: list[Path] = []
    refused: list[ManifestIssue] = []
    if not paths:  # the conventional folder: found, not named, so it stays in the working tree
        paths = default_paths()
        _inside_working_tree(paths[0])
        project_root = project_root or Path.cwd()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            _walk(path, _walk_boundary(path, project_root), found, refused)
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            raise UsageError(f"no such file or directory: {raw}",
                             hint="pass manifest files or directories")
    unique: dict[str, Path] = {}  # by text: hashing 10,000 Paths cost ~0.08 s of a plan
    for path in found:
        unique.setdefault(str(path), path)
    return list(unique.values()), refused


def _walk(folder: Path, boundary: Path, found: list[Path], refused: list[ManifestIssue]) -> None:
    """The manifest files under ``folder``. Linked folders are followed when they lead inside
    ``boundary`` (skipped silently, a folder's manifests would be missing and the next plan
    would delete what they declare); each real folder is read once, under the first name met,
    so a link to an ancestor (a loop) or to a folder read anyway adds nothing."""
    seen = {folder.resolve()}
    pending = [os.fspath(folder)]
    while pending:  # os.walk(folder, followlinks=True)'s order, with scandir's file types
        root = pending.pop()
        dirs, files = _entries(root)
        kept = []
        for name in sorted(d for d in dirs if not d.startswith(".")):
            sub = Path(root) / name
            if _is_link(dirs[name]) and not _leads_inside(sub, boundary):
                refused.append(_outside_issue(sub, boundary))
                continue
            real = sub.resolve()
            if real not in seen:
                seen.add(real)
                kept.append(name)
        for name in sorted(files):
            if not name.endswith(SUFFIXES) or name.startswith("."):
                continue
            file = Path(root) / name
            if _is_link(files[name]) and not _leads_inside(file, boundary):
                refused.append(_outside_issue(file, boundary))
            else:
                found.append(file)
        pending.extend(os.path.join(root, name) for name in reversed(kept))


def _entries(folder: str) -> tuple[dict[str, os.DirEntry[str]], dict[str, os.DirEntry[str]]]:
    """(folders, other entries) of ``folder`` by name, as os.walk splits them (links to folders
    are folders); an unreadable folder has none (os.walk skips it)."""
    dirs: dict[str, os.DirEntry[str]] = {}
    files: dict[str, os.DirEntry[str]] = {}
    try:
        with os.scandir(folder) as listing:
            for entry in listing:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                (dirs if is_dir else files)[entry.name] = entry
    except OSError:
        return {}, {}
    return dirs, files


def _is_link(entry: os.DirEntry[str]) -> bool:
    """As Path.is_symlink, from the folder listing's file type (no system call per file)."""
    try:
        return entry.is_symlink()
    except OSError:
        return False


def _inside_working_tree(folder: str) -> None:
    resolved = Path(folder).resolve()
    if not resolved.is_relative_to(Path.cwd().resolve()):
        raise UsageError(f"{folder} is a link to {resolved}, outside the working directory",
                         hint="the manifest folder found by default stays inside the working "
                              "directory: replace the link with the folder, or name the folder "
                              "on the command line")


def _walk_boundary(folder: Path, project_root: Path | None) -> Path:
    """Where links found in ``folder`` may lead: the project folder when ``folder`` is in it
    (links between a project's folders are fine), else ``folder`` itself."""
    real = folder.resolve()
    if project_root is not None:
        root = project_root.resolve()
        if real.is_relative_to(root):
            return root
    return real


def _leads_inside(link: Path, boundary: Path) -> bool:
    try:
        return link.resolve().is_relative_to(boundary)
    except (OSError, RuntimeError):  # a symlink loop leads nowhere
        return False


def _outside_issue(link: Path, boundary: Path) -> ManifestIssue:
    try:
        target = str(link.resolve())
    except (OSError, RuntimeError):
        target = os.readlink(link)
    return ManifestIssue(
        str(link), 1, 1, "", f"a symlink to {target}, outside {boundary}: not read",
        f"a link in a manifest folder may only lead inside {boundary}: copy what it names in, or "
        "name it on the command line to read it on purpose")
