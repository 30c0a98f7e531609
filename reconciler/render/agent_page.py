"""The agent's read-only status page: fleet, last plan, history, leader, errors.

Every value that came from the API or a file (names, statuses, reasons, errors) is untrusted:
control characters are shown escaped (``render/safe.clean``), then HTML-escaped. The page has
no script and no form (nothing on it changes anything); it refreshes itself with a meta
refresh, and the server's Content-Security-Policy forbids scripts should any ever slip in. It
shows no secret and no fingerprint: the status it is built from carries none.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from reconciler.agent_status import Status, fleet_cost
from reconciler.render.safe import clean

REFRESH_SECONDS = 10
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; "
       "frame-ancestors 'none'; base-uri 'none'")
_STYLE = """
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}.drift{color:#a40}.err{color:#b00}.ok{color:#070}
code{background:#f6f6f6;padding:0 .2em}.meta td{border:none;padding:.1em .8em .1em 0}
"""


def _t(value: object) -> str:
    return html.escape(clean(str(value)), quote=True)


def _money(value: float | None) -> str:
    """A price, or "unknown" (none given, or API nonsense the client already dropped)."""
    return "unknown" if value is None else f"${value:,.2f}"


def _table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]], cls: str = "") -> str:
    """``rows`` hold already-escaped cells."""
    out = [f"<table{f' class={cls!r}' if cls else ''}>"]
    if head:
        out.append("<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead>")
    out.append("<tbody>")
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    return "".join(out) + "</tbody></table>"


def page(status: Status, title: str = "yottactl agent") -> str:
    """The whole HTML document for ``status``."""
    s = status
    role = {"leader": "leader (acting)", "standby": "standby", "observer": "observer "
            "(observe mode: no lock)"}.get(s.role, s.role)
    meta = [("Mode", _t(s.mode)), ("Role", _t(role)), ("Leader", _t(s.leader or "—")),
            ("Source", _t(s.source)), ("Commit", f"<code>{_t(s.commit)}</code>" if s.commit
                                       else "—"),
            ("Interval", f"{s.interval:g} s ±10%"), ("Last cycle", _t(s.last_cycle or "—")),
            ("Last success", _t(s.last_success or "—")),
            ("Ready", '<span class="ok">yes</span>' if s.ready else '<span class="err">no</span>')]
    if s.backoff_until:
        meta.append(("Backing off until", _t(s.backoff_until)))
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8>"
             f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
             f"<title>{_t(title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{_t(title)}</h1>",
             _table((), [(k, v) for k, v in meta], "meta")]
    if s.errors:
        parts.append("<h2>Errors</h2><ul>" + "".join(f'<li class="err">{_t(e)}</li>'
                                                     for e in s.errors) + "</ul>")
    managed = sum(1 for r in s.fleet if r.managed)
    parts.append(f"<h2>Fleet ({len(s.fleet)} deployments listed; the {managed} managed by "
                 f"the state cost {_money(fleet_cost(s.fleet))}/h)</h2>")
    rows = [(_t(r.name), _t(r.status), _t("" if r.workers is None else r.workers),
             _money(r.per_hour),
             f'<span class="drift">{_t(", ".join(r.drift))}</span>' if r.drift else "none",
             _t(r.last_change), f"<code>{_t(r.last_commit[:12])}</code>" if r.last_commit else "")
            for r in s.fleet]
    parts.append(_table(("Name", "Status", "Workers", "$/h", "Drift", "Last change", "Commit"),
                        rows) if rows else "<p>No deployments listed yet.</p>")
    parts.append("<h2>Last plan</h2>")
    if s.plan_lines:
        summary = ", ".join(f"{_t(k)}: {v}" for k, v in s.plan_summary)
        parts.append(f"<p>{summary}</p><ul>" + "".join(f"<li>{_t(line)}</li>"
                                                       for line in s.plan_lines) + "</ul>")
    else:
        parts.append("<p>No changes.</p>")
    parts.append("<h2>Recent history</h2>")
    history = [(_t(h.at), _t(h.kind), _t(h.text), f"<code>{_t(h.commit[:12])}</code>"
                if h.commit else "") for h in s.history]
    parts.append(_table(("When (UTC)", "What", "", "Commit"), history) if history
                 else "<p>Nothing yet.</p>")
    parts.append(f"<p><small>Read-only; refreshes every {REFRESH_SECONDS} s. "
                 "<a href=/metrics>metrics</a></small></p></body></html>")
    return "".join(parts)
