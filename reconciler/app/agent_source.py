"""Where `yottactl agent` reads manifests each cycle: a folder (read afresh every cycle), or a
Git repository's branch, fetched and checked out into the agent's own work folder with the
`git` command line (the user's git: its credential helpers, SSH keys and proxy settings)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reconciler.errors import UsageError, YottactlError
from reconciler.settings import git_environment
from reconciler.state.locations import without_userinfo

GIT_TIMEOUT = 120.0  # seconds for one git command: a hung fetch must not stall the agent forever
MARKER = "yottactl-agent"  # in the work folder's .git: the agent's own checkout, of which source
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


def is_git_url(source: str) -> bool:
    """A repository to fetch (URL, ``user@host:path``, or a local ``*.git`` folder)."""
    return ("://" in source or bool(_SCP_LIKE.match(source))
            or (source.rstrip("/").endswith(".git") and Path(source).is_dir()))


@dataclass(frozen=True)
class Snapshot:
    """What one cycle reads: manifest paths (empty: the project's), and the commit if Git."""

    paths: tuple[str, ...]
    commit: str | None = None


class FolderSource:
    def __init__(self, folder: str | None) -> None:
        self.folder = folder

    def describe(self) -> str:
        return self.folder or "the project's manifests"

    def checkout(self) -> Snapshot:
        return Snapshot((self.folder,) if self.folder else ())


class GitSource:
    """``branch`` of ``url`` checked out (detached, cleaned) in ``work``, one fetch per cycle."""

    def __init__(self, url: str, branch: str, work: Path, subfolder: str = "") -> None:
        if url.startswith("-") or branch.startswith("-"):
            raise UsageError(f"--source {url!r} / branch {branch!r}: not a repository or branch")
        if "::" in url:  # git's <transport>::<address>: ext:: runs a command
            raise UsageError(f"--source {without_userinfo(url)!r}: a `TRANSPORT::` address is "
                             "not a repository the agent fetches",
                             hint="name the repository by an https://, ssh:// or git:// URL, "
                                  "user@host:path, or a local folder")
        inside = PurePosixPath(subfolder.replace("\\", "/"))
        if inside.is_absolute() or ".." in inside.parts:
            raise UsageError(f"--source-path {subfolder!r}: not a folder inside the checkout",
                             hint="name a folder of the repository, e.g. --source-path deploy")
        self.url, self.branch, self.work, self.subfolder = url, branch, work, subfolder
        self._owned(claim=False)  # refused at start, before any cycle

    def _owned(self, *, claim: bool) -> None:
        """The work folder is the agent's own: absent or empty (then, with ``claim``, made
        and marked), or marked by the agent for this source. ``git checkout -f`` and ``git
        clean -fdx`` run there every cycle: any other folder (a project's clone with its
        uncommitted work and state file) would be wiped."""
        marker = self.work / ".git" / MARKER
        recorded = without_userinfo(self.url)
        if marker.is_file():
            if marker.read_text(encoding="utf-8").strip() == recorded:
                return
            raise UsageError(f"--work-dir {self.work}: the agent's checkout of another source "
                             f"({marker.read_text(encoding='utf-8').strip()[:200]})",
                             hint="give each source its own --work-dir (a new or empty folder)")
        if self.work.exists() and (not self.work.is_dir() or any(self.work.iterdir())):
            raise UsageError(f"--work-dir {self.work}: not empty and not the agent's own "
                             "checkout; the agent cleans its work folder every cycle and would "
                             "delete what is there",
                             hint="pass a new or empty folder as --work-dir (the agent creates "
                                  "it and keeps only its checkout there), never a project's "
                                  "own repository")
        if claim:
            self.work.mkdir(parents=True, exist_ok=True)
            self._git("init", "-q")
            marker.write_text(recorded + "\n", encoding="utf-8")

    def describe(self) -> str:
        from reconciler.state.locations import redact_url

        return f"{without_userinfo(redact_url(self.url))} ({self.branch})"

    def _git(self, *args: str) -> str:
        env = git_environment()
        try:
            done = subprocess.run(["git", "-C", str(self.work), *args], capture_output=True,
                                  text=True, timeout=GIT_TIMEOUT, env=env, check=False)
        except FileNotFoundError:
            raise YottactlError("the agent's Git source needs the `git` command, which is not "
                                "installed", hint="install git, or pass --source FOLDER") from None
        except subprocess.TimeoutExpired:
            raise YottactlError(f"git {args[0]} of {self.describe()} took longer than "
                                f"{GIT_TIMEOUT:g}s") from None
        if done.returncode != 0:
            raise YottactlError(f"git {args[0]} of {self.describe()} failed: "
                                f"{_git_error(done.stderr)}",
                                hint="check the URL, the branch and git's credentials for it")
        return done.stdout.strip()

    def checkout(self) -> Snapshot:
        self._owned(claim=True)
        self._git("fetch", "-q", "--depth", "1", "--no-tags", "--", self.url,
                  f"refs/heads/{self.branch}")
        self._git("checkout", "-q", "-f", "--detach", "FETCH_HEAD")
        self._git("clean", "-q", "-f", "-d", "-x")
        commit = self._git("rev-parse", "HEAD")
        folder = self.work / self.subfolder if self.subfolder else self.work
        if not folder.resolve().is_relative_to(self.work.resolve()):  # a symbolic link out
            raise YottactlError(f"--source-path {self.subfolder!r} of {self.describe()} leads "
                                "out of the checkout (a symbolic link)")
        return Snapshot((str(folder),), commit)


def _git_error(stderr: str) -> str:
    """What went wrong, as git said it: its first ``fatal:`` line, else its whole (short)
    message; credentials in URLs removed, at most 300 characters."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith("fatal:")]
    text = fatal[0] if fatal else " ".join(lines) or "no message"
    return without_userinfo(text)[:300]


def open_source(source: str | None, branch: str, work: Path, subfolder: str = "", *,
                from_project: bool = False) -> FolderSource | GitSource:
    """``source`` as --source names it: a folder or a Git repository. ``from_project``: named
    by yottactl.yaml (editable by any pull request), always a plain folder, never a
    repository."""
    if source is not None and not from_project and is_git_url(source):
        if "://" not in source and not _SCP_LIKE.match(source):  # a local repository: named
            source = str(Path(source).absolute())  # from here, not from the work folder
        return GitSource(source, branch, work, subfolder)
    return FolderSource(source)
