"""Tables, YAML and log lines for `get`, `output`, `workers` and `logs`.

Cells may quote the API: :func:`reconciler.render.table.render_table` cleans them; log lines
are whatever the workload printed and are cleaned here.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, TextIO

from reconciler.render.style import Style
from reconciler.render.table import human_duration, render_table

if TYPE_CHECKING:
    from reconciler.api.models import Deployment, Worker
    from reconciler.report.observe import LogLine, OutputRecord

STATUS_COLORS = {"RUNNING": "green", "INITIALIZING": "cyan", "INITIALIZE": "cyan",
                 "STOPPING": "yellow", "STOPPED": "white", "FAILED": "red", "TERMINATED": "white",
                 "TERMINATING": "yellow"}
WHOLE_CELLS = 10_000  # width on a pipe: print whole cells (scripts parse them)


def status_table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO, *,
                 color: bool, status_col: int, width: int = WHOLE_CELLS) -> None:
    style = Style(color)

    def paint(col: int, text: str) -> str:
        return style(text, fg=STATUS_COLORS.get(text.strip())) if col == status_col else text

    render_table(headers, rows, out, width=width, style=paint if color else None)


def write_yaml(data: object, out: TextIO) -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    # non-ASCII as YAML escapes ("\u202E"): a bidi override from the API is then neither raw
    # on the terminal nor changed by the output stream's escaping (the values stay exact)
    yaml.allow_unicode = False
    yaml.dump(data, out)


def deployment_rows(live: Iterable[Deployment], managed_ids: Collection[str]) -> list[list[str]]:
    from reconciler.report.observe import url_of

    rows = []
    for d in sorted(live, key=lambda d: (d.name or "", d.id)):
        gpu = d.resources[0] if d.resources else None
        rows.append([
            d.name or "", d.id, d.status or "?", f"{d.runningWorkers or 0}/{d.totalWorkers or 0}",
            f"{gpu.gpuType} ×{gpu.gpuCount}" if gpu else "-",
            ",".join(sorted({r.region or "" for r in d.resources})),
            f"{d.perHourPrice or 0:.2f}", "yes" if d.id in managed_ids else "no", url_of(d) or "-",
        ])
    return rows


DEPLOYMENT_HEADERS = ["NAME", "ID", "STATUS", "WORKERS", "GPU", "REGIONS", "$/H", "MANAGED", "URL"]
OUTPUT_HEADERS = ["NAME", "ID", "STATUS", "WORKERS", "URL"]
WORKER_HEADERS = ["ID", "STATUS", "REGION", "GPU", "UPTIME", "COST $"]


def output_rows(records: Iterable[OutputRecord]) -> list[list[str]]:
    return [[r["name"], r["id"], r["status"] or "NOT FOUND",
             f"{r['runningWorkers'] or 0}/{r['workers'] or 0}" if r["found"] else "-",
             r["url"] or "-"] for r in records]


def output_lines(record: OutputRecord) -> str:
    """`output NAME`: one `key = value` line per field (values spelled as in the JSON form)."""
    def text(value: object) -> str:
        return "-" if value is None else json.dumps(value) if isinstance(value, bool) else str(value)

    return "".join(f"{key} = {text(value)}\n" for key, value in record.items())


def worker_rows(found: Iterable[Worker]) -> list[list[str]]:
    return [[w.id, w.status or "?", w.region or "", f"{w.gpuType} ×{w.gpuCount}",
             human_duration(w.uptime), f"{w.cost or 0:.4f}"] for w in found]


def log_line(line: LogLine, output: str, with_worker: bool) -> str:
    """One log line: JSON for scripts, or text (cleaned: never raw to the terminal)."""
    from reconciler.render.safe import clean

    if output == "json":
        return json.dumps({"timestamp": line.timestamp, "worker": line.worker,
                           "offset": line.offset, "line": line.line})
    if with_worker:
        return f"[{clean(line.worker)}] {clean(line.timestamp)} {clean(line.line)}"
    return f"{clean(line.timestamp)} {clean(line.line)}"
