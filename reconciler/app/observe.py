"""`get`, `output`, `workers`, `logs`, `export`: what each reads from the API and the state.

Name resolution and log paging/merging live here; the pure views (masking, URLs, wait states,
output records) are in :mod:`reconciler.report.observe`.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.api.facts import LOG_BACKWARD, LOG_PAGE_MAX
from reconciler.app.session import Session
from reconciler.errors import NotFound, StateError, UsageError, YottactlError
from reconciler.report.observe import LogLine
from reconciler.settings import Settings

if TYPE_CHECKING:
    from reconciler.api.client import YottaClient
    from reconciler.api.models import Deployment, LogEntry, Worker
    from reconciler.report.observe import OutputRecord
    from reconciler.state.model import State


@dataclass(frozen=True)
class Listing:
    """Live deployments (filtered by status) and the ids the state manages."""

    live: list[Deployment]
    managed_ids: frozenset[str]


def listing(settings: Settings, statuses: Sequence[str]) -> Listing:
    with Session(settings) as session:
        live = session.client.list(status=[x.upper() for x in statuses])
        state = session.store.read()
        return Listing(live, frozenset(e.id for e in (state.deployments if state else {}).values()))


def detail(settings: Settings, name: str) -> Deployment:
    """One deployment in full, by name or id."""

    with Session(settings) as session:
        client = session.client
        return client.detail(resolve(client, name).id)


def output_records(settings: Settings, name: str | None) -> dict[str, OutputRecord]:
    """Managed deployments (all, or ``name``) as the live API reports them: one list call."""
    from reconciler.report.observe import output_record

    with Session(settings) as session:
        state = session.store.read()
        managed = dict(sorted((state.deployments if state else {}).items()))
        if name is not None and name not in managed:
            raise StateError(f"{name!r} is not managed by yottactl (not in the state)",
                             hint="`yottactl state list` shows managed names; `yottactl get` "
                                  "shows every live deployment")
        live = {d.id: d for d in session.client.list()}
        records = {n: output_record(n, e.id, live.get(e.id)) for n, e in managed.items()
                   if name is None or n == name}
        if name is not None and not records[name]["found"]:
            raise YottactlError(f"managed deployment {name} (id {managed[name].id}) is not live",
                                hint="`yottactl plan` shows how to bring it back")
        return records


def workers_of(settings: Settings, name: str, statuses: Sequence[str],
               show_all: bool) -> tuple[Deployment, list[Worker]]:
    """Deployment ``name`` and its workers; TERMINATED ones only with ``show_all`` or a filter."""
    from reconciler.api.facts import WORKER_TERMINATED

    with Session(settings) as session:
        client = session.client
        dep = resolve(client, name)
        found = client.workers(dep.id, status=[x.upper() for x in statuses])
        if not show_all and not statuses:
            found = [w for w in found if w.status != WORKER_TERMINATED]
        return dep, found


@dataclass
class LogQuery:
    worker_id: str | None = None
    since: str | None = None
    until: str | None = None
    grep: str | None = None
    tail: int | None = None
    poll_interval: float = 1.0


@dataclass
class LogSession:
    """The lines so far of the chosen workers; :meth:`follow` yields new ones. Owns the
    command's client: ``with logs(...) as found:`` closes it."""

    opened: Session
    deployment_id: str
    query: LogQuery
    several_workers: bool  # lines name their worker
    lines: list[LogLine] = field(default_factory=list)

    def follow(self, stop: threading.Event) -> Iterator[LogLine]:
        return follow_logs(self.opened.client, self.deployment_id, self.query.worker_id, self.lines,
                      grep=self.query.grep, stop=stop, interval=self.query.poll_interval)

    def __enter__(self) -> LogSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.opened.close()


def logs(settings: Settings, name: str, query: LogQuery) -> LogSession:
    """The matching log lines of ``name``'s workers (one, or all merged by time)."""

    opened = Session(settings)  # the LogSession owns it from here; closed at once on error
    try:
        return _log_session(opened, name, query)
    except BaseException:
        opened.close()
        raise


def _log_session(opened: Session, name: str, query: LogQuery) -> LogSession:
    from reconciler.report.observe import parse_when

    client = opened.client
    dep = resolve(client, name)
    known = client.workers(dep.id)
    current = [w.id for w in known]
    worker_id = query.worker_id
    if worker_id and worker_id not in current:
        listed = ", ".join(f"{w.id} ({w.status})" for w in known)
        raise UsageError(f"{name} has no worker {worker_id}",
                         hint=f"its workers: {listed}" if listed
                         else f"{name} has no workers (deployment is {dep.status})")
    ids = [worker_id] if worker_id else current
    session = LogSession(opened, dep.id, query, len(ids) > 1 or not worker_id)
    session.lines = collect(client, dep.id, ids, since=parse_when(query.since),
                            until=parse_when(query.until), grep=query.grep, tail=query.tail)
    return session


@dataclass(frozen=True)
class Skipped:
    """Live deployments `export` (of all) left out, why, and how to export them."""

    ids: tuple[str, ...]
    why: str  # API text in it is shown escaped (repr)
    hint: str


@dataclass(frozen=True)
class Exported:
    files: list[Path]
    variables: list[str]  # ${env:...} the manifests need (secrets are never exported)
    skipped: list[Skipped] = field(default_factory=list)


def export(settings: Settings, names: Sequence[str], directory: str | None, force: bool,
           on_written: Callable[[Path], None] = lambda path: None) -> Exported:
    """Manifests for live deployments (all, or ``names``), never outside ``directory`` and
    never over an existing file without ``force``. Exporting all, a deployment whose name
    cannot be a manifest's is skipped (reported in ``skipped``); one asked for by name is
    refused, and then nothing is written."""
    from reconciler.report.export import manifest_for, write_new

    with Session(settings) as session:
        folder = Path(directory) if directory else export_folder(settings)
        state = session.store.read()  # which values came from ${env:} (sensitive)
        client = session.client
        deployments = [resolve(client, n) for n in names] if names else client.list()
        skipped = _unexportable(deployments)
        if skipped and names:
            raise UsageError(skipped[0].why, hint=skipped[0].hint)
        left_out = {i for s in skipped for i in s.ids}
        deployments = [d for d in deployments if d.id not in left_out]
        targets = _export_targets(deployments, folder, force)
        if deployments:
            folder.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        needed: list[str] = []
        for d in sorted(deployments, key=lambda d: d.name or ""):
            text, variables = manifest_for(d, _sensitive_keys(state, d))
            target = targets[d.id]
            write_new(folder, target, text, overwrite=force)
            needed += variables
            written.append(target)
            on_written(target)
        return Exported(written, needed, skipped)


def export_folder(settings: Settings) -> Path:
    """Where `export` writes without --dir: the manifest folder plan would read (the project
    file's first folder, else manifests/ or deploy/), else a new manifests/."""
    from reconciler.manifest.discovery import CONVENTIONAL_FOLDERS

    for entry in settings.inputs.context.manifests:
        if not Path(entry).is_file():
            return Path(entry)
    return next((Path(f) for f in CONVENTIONAL_FOLDERS if Path(f).is_dir()),
                Path(CONVENTIONAL_FOLDERS[0]))


def _sensitive_keys(state: State | None, dep: Deployment) -> frozenset[str]:
    """The environment keys the state marks sensitive for ``dep`` (matched by id)."""
    entries = [e for e in (state.deployments.values() if state else ()) if e.id == dep.id]
    prefix = "environmentVars."
    return frozenset(p[len(prefix):] for e in entries for p in e.sensitive if p.startswith(prefix))


def _unexportable(deployments: Sequence[Deployment]) -> list[Skipped]:
    """Each name becomes a file name and metadata.name: it must be a valid, unique name."""
    import re

    from reconciler.api.models import NAME_PATTERN

    out = [Skipped((d.id,), f"live deployment {d.id} has the name {d.name!r}, which is not a "
                            "valid deployment name", "rename it in the console, then export it")
           for d in deployments if not re.match(NAME_PATTERN, d.name or "")]
    by_name: dict[str, list[str]] = {}
    for d in deployments:
        if re.match(NAME_PATTERN, d.name or ""):
            by_name.setdefault(d.name or "", []).append(d.id)
    out += [Skipped(tuple(ids), f"live deployments {', '.join(ids)} share the name {name!r}",
                    "export each by id into its own --dir (`yottactl export ID --dir DIR`) and "
                    "rename its metadata.name") for name, ids in sorted(by_name.items())
            if len(ids) > 1]
    return out


def _export_targets(deployments: Sequence[Deployment], folder: Path,
                    force: bool) -> dict[str, Path]:
    """The file each deployment is written to; refused on a clash or an existing file."""
    from reconciler.report.export import file_name

    targets = {d.id: folder / file_name(d.name or d.id) for d in deployments}
    clashes = sorted({str(p) for p in targets.values()
                      if list(targets.values()).count(p) > 1})
    if clashes:
        raise UsageError(f"several deployments would be written to {', '.join(clashes)}",
                         hint="export them one at a time with --dir")
    existing = sorted(str(p) for p in targets.values() if p.exists() or p.is_symlink())
    if existing and not force:
        raise UsageError(f"refusing to overwrite {', '.join(existing)}",
                         hint="pass --force to overwrite, or choose another --dir")
    return targets


def resolve(client: YottaClient, name: str) -> Deployment:
    """The live deployment called ``name`` (or with that id), through one list call."""
    live = client.list()
    exact = [d for d in live if d.name == name or d.id == name]
    if not exact:  # a blue-green deployment lives under its rollout name (plan/rollout.py)
        from reconciler.plan.rollout import alternate_name

        exact = [d for d in live if d.name == alternate_name(name)]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        ids = ", ".join(f"{d.id} ({d.status})" for d in exact)
        raise UsageError(f"{len(exact)} live deployments are named {name!r}: {ids}",
                         hint="pass the id instead of the name")
    names = sorted({d.name or "" for d in live})
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = (f"did you mean {', '.join(repr(c) for c in close)}?" if close
            else f"live deployments: {', '.join(names[:20]) or 'none'}")
    raise NotFound(f"no live deployment named {name!r}", operation="resolve", hint=hint)




def _as_lines(entries: Iterable[LogEntry], worker: str) -> list[LogLine]:
    return [LogLine(e.timestamp or "", worker, e.offset or 0, e.log or "") for e in entries]


def collect(client: YottaClient, dep_id: str, workers: Sequence[str], *, since: str | None,
            until: str | None, grep: str | None, tail: int | None) -> list[LogLine]:
    """Every matching line of ``workers``, merged by timestamp (the last ``tail`` if given)."""
    lines: list[LogLine] = []
    for worker in workers:
        if tail:
            page = client.logs(dep_id, worker, page_size=min(tail, LOG_PAGE_MAX), keyword=grep,
                               start_time=since, end_time=until, direction=LOG_BACKWARD)
            lines += _as_lines(page.logs, worker)
        else:
            lines += _as_lines(client.iter_logs(dep_id, worker, keyword=grep, start_time=since,
                                                end_time=until, page_size=LOG_PAGE_MAX), worker)
    lines.sort()
    return lines[-tail:] if tail else lines


def follow_logs(client: YottaClient, dep_id: str, fixed_worker: str | None,
                seen: Sequence[LogLine], *, grep: str | None, stop: threading.Event,
                interval: float = 1.0, max_interval: float = 5.0) -> Iterator[LogLine]:
    """New lines as they appear; with no fixed worker, new workers (after a restart) join in."""
    cursors: dict[str, tuple[str, int]] = {}
    for line in seen:
        cursors[line.worker] = (_ms(line.timestamp), line.offset)
    delay = interval
    while not stop.is_set():
        workers = [fixed_worker] if fixed_worker else [w.id for w in client.workers(dep_id)]
        fresh: list[LogLine] = []
        for worker in workers:
            after_time, after_offset = cursors.get(worker, (None, None))
            got = _as_lines(client.iter_logs(
                dep_id, worker, keyword=grep, page_size=LOG_PAGE_MAX,
                search_after_time=after_time, search_after_offset=after_offset), worker)
            if got:
                cursors[worker] = (_ms(got[-1].timestamp), got[-1].offset)
                fresh += got
        fresh.sort()
        yield from fresh
        delay = interval if fresh else min(delay * 1.5, max_interval)
        stop.wait(delay)


def _ms(timestamp: str) -> str:
    try:
        return str(int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000))
    except ValueError:
        return timestamp
