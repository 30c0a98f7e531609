"""The end of an apply: exact counts, then the outputs (Terraform's `outputs`): for each
created, replaced, started or updated deployment its id, status, workers and URL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from reconciler.render.progress import duration
from reconciler.render.safe import clean
from reconciler.render.table import render_table

if TYPE_CHECKING:
    from reconciler.report.observe import OutputRecord


@dataclass(frozen=True)
class ApplySummary:
    elapsed: float
    succeeded: Sequence[str] = ()
    failed: Mapping[str, str] = field(default_factory=dict)
    partial: Mapping[str, Sequence[str]] = field(default_factory=dict)  # name -> steps done
    not_started: Sequence[str] = ()
    outputs: Sequence[OutputRecord] = ()
    verb: str = "Apply"  # or Destroy, Restart: what the user asked for

    def headline(self) -> str:
        interrupted = len(self.partial)
        return (f"{self.verb} finished in {duration(self.elapsed)}: {len(self.succeeded)} succeeded, "
                f"{len(self.failed)} failed, {interrupted} interrupted after some of their "
                f"steps, {len(self.not_started)} not started.")

    def to_json(self) -> dict[str, object]:
        return {"type": "summary", "elapsed": round(self.elapsed, 3),
                "succeeded": sorted(self.succeeded), "failed": dict(sorted(self.failed.items())),
                "interrupted": {n: list(s) for n, s in sorted(self.partial.items())},
                "not_started": sorted(self.not_started), "outputs": list(self.outputs)}


def render_summary(summary: ApplySummary, out: TextIO, err: TextIO) -> None:
    out.write("\n" + summary.headline() + "\n")
    for name, message in sorted(summary.failed.items()):
        # most errors already start with the deployment's name: say it once
        message = message.removeprefix(f"{name}: ")
        err.write(f"  failed: {clean(name)}: {clean(message)}\n")
    for name, steps in sorted(summary.partial.items()):
        err.write(f"  interrupted: {clean(name)} after {' → '.join(steps)} (recorded in the "
                  "state; `yottactl apply` finishes it)\n")
    if summary.not_started:
        err.write(f"  not started: {', '.join(clean(n) for n in sorted(summary.not_started))}\n")
    if not summary.outputs:
        return
    out.write("\nOutputs:\n")
    rows = [[clean(r["name"]), clean(r["id"]), clean(r["status"] or "NOT FOUND"),
             f"{r['runningWorkers'] or 0}/{r['workers'] or 0}" if r["found"] else "-",
             clean(r["url"] or "-")] for r in summary.outputs]
    render_table(["  NAME", "ID", "STATUS", "WORKERS", "URL"],
                 [["  " + row[0], *row[1:]] for row in rows], out, width=10_000)
