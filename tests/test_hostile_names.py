"""Names, statuses and images from a hostile API in pull-request comments, drift issues and the
terminal (issue 22). Each Markdown output is rendered by a real Markdown library (markdown-it-py,
CommonMark + GFM tables + autolinks) and the HTML inspected: no link, image, HTML of theirs,
comment or mention, every hostile string shown inside code, every table row whole. Bidi
overrides and other invisible characters are shown escaped everywhere, the terminal included."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from reconciler.state.backend import StateFile

from helpers import state as state_of
from hostile_api import HostileApi, deployment
from hostile_api import HostileCli as Env

MARK = "PWN"  # in every hostile string: where it shows in the HTML, it must be inside code
NAMES = [
    f"{MARK}[click](https://evil.example/x)", f"{MARK}![img](https://evil.example/i.png)",
    f"{MARK} @octocat please", f"{MARK}<!-- the findings below are hidden",
    f"{MARK}`a``b`|c", f"`{MARK}", f"{MARK}<img src=x onerror=alert(1)>",
    f"{MARK} evil\u202egnp.exe", f"{MARK} www.evil.example", f"{MARK}</details></summary>",
    f"{MARK} **bold** _em_ #1 GH-2 https://evil.example", f"{MARK}\u2066isolated\u2069\u200b",
    f"{MARK}|| broken | row |", f"{MARK} [x]: https://evil.example/ref",
]
STATUS = f"RUN`NING<b>{MARK}</b>@octocat\u202e"
IMAGE = f"{MARK}/img:1 [x](https://evil.example) `tick` \u202egnp.exe"
INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
SVC_SPEC = {"resources": [{"region": "us-east-1", "gpuType": "NVIDIA_RTX_4090_24G", "gpuCount": 1}],
            "containerVolumeInGb": 50, "expose": {"port": 8000, "protocol": "HTTP"}}


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Env]:
    """A managed `svc` whose live image is hostile, a second live `svc` (a duplicate) with a
    hostile status, and unmanaged deployments with hostile names."""
    api = HostileApi().start()
    env = Env(api, tmp_path, "svc", YOTTACTL_HTTP_TIMEOUT="5")
    StateFile(env.state).write(state_of([{"name": "svc", "id": "102", "spec": SVC_SPEC}]))
    api.answer("/list", [deployment("102", "svc", image=IMAGE), deployment("103", "svc", STATUS)]
               + [deployment(str(200 + i), name, STATUS) for i, name in enumerate(NAMES)]
               # only characters inert in Markdown, yet GitHub would link them
               + [deployment("300", "plain", f"{MARK} see www.evil.example or GH-2")])
    api.answer("/102", deployment("102", "svc", image=IMAGE))
    api.answer("/200", deployment("200", NAMES[0], STATUS))
    yield env
    api.stop()


class Html(HTMLParser):
    """What a rendered comment holds: tags with attributes, comments, text outside code."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.comments: list[str] = []
        self.outside: list[str] = []  # text nodes not inside <code> or <pre>
        self.inside: list[str] = []
        self.rows: list[int] = []  # cells per table row
        self._code = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag in ("code", "pre"):
            self._code += 1
        elif tag == "tr":
            self.rows.append(0)
        elif tag in ("td", "th"):
            self.rows[-1] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("code", "pre"):
            self._code -= 1

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_data(self, data: str) -> None:
        (self.inside if self._code else self.outside).append(data)


OURS = {"h3", "h4", "p", "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "details",
        "summary", "ul", "li", "strong", "blockquote", "br"}


def inspect(markdown: str, shown: int) -> None:
    """``markdown`` renders to our own HTML only, with ``shown`` hostile strings in code."""
    assert not INVISIBLE.search(markdown), "a raw bidi or invisible character reached Markdown"
    md = MarkdownIt("commonmark", {"linkify": True}).enable(["table", "linkify"])
    page = Html(md.render(markdown))
    assert {tag for tag, _ in page.tags} <= OURS, page.tags  # no <a>, <img>, theirs
    assert all(attrs in ([], [("class", "language-diff")]) for _, attrs in page.tags), page.tags
    assert all(c.startswith(" yottactl-") for c in page.comments), page.comments
    outside = "".join(page.outside)  # sentences keep plain words outside code, nothing else
    assert not set(outside) & set("@<>[]`\\|&~*_"), outside
    assert "evil.example" not in outside and "GH-2" not in outside, outside
    assert "".join(page.inside).count(MARK) >= shown  # precondition: they are shown, as code
    assert len(set(page.rows)) <= 1, page.rows  # every row has the header's cells: none broke out


@pytest.mark.parametrize("args, shown", [
    (["plan", "{manifests}", "-o", "markdown"], len(NAMES) + 2),  # + the image, + the status
    (["drift", "{manifests}", "-o", "markdown"], len(NAMES) * 2),  # the summary and the table
])
def test_markdown_from_hostile_names_is_inert(hostile: Env, args: list[str], shown: int) -> None:
    result = hostile(*args)
    assert result.exit_code in (0, 2), result.output
    inspect(result.stdout, shown)


def test_a_saved_plan_shown_as_markdown_is_inert(hostile: Env) -> None:
    """A plan file is an artifact anyone with CI access can swap: its change names land in the
    <details> HTML blocks too."""
    saved = hostile("plan", "{manifests}", "--out", "{tmp}/p.json")
    assert saved.exit_code == 0, saved.output
    plan_file = hostile.tmp / "p.json"
    data = json.loads(plan_file.read_text())
    [change] = [c for c in data["changes"] if c["action"] != "no-op"]  # the image's replace
    change["name"] = f"{MARK}</summary></details><img src=x onerror=alert(1)><!--"
    plan_file.write_text(json.dumps(data))
    result = hostile("show", "{tmp}/p.json", "-o", "markdown")
    assert result.exit_code == 0, result.output
    assert "<details><summary><code>PWN&lt;/summary&gt;" in result.stdout  # precondition
    inspect(result.stdout, len(NAMES) + 4)  # + the name in the table, the list and <summary>


@pytest.mark.parametrize("args", [
    ["plan", "{manifests}"], ["drift", "{manifests}"], ["get"], ["get", "-o", "yaml"],
    ["get", "200"], ["export", "102", "--dir", "{tmp}/out"]], ids=" ".join)
def test_the_terminal_never_gets_a_bidi_override(hostile: Env, args: list[str]) -> None:
    result = hostile(*args)
    assert result.exit_code in (0, 2), result.output
    written = "".join(p.read_text() for p in (hostile.tmp / "out").glob("*"))
    shown = result.stdout + written
    assert not INVISIBLE.search(shown + result.stderr), "raw bidi/invisible characters"
    assert "\\u202e" in shown.lower()  # shown, escaped (YAML writes \u202E)
    if "yaml" in args or "export" in args:  # data formats: their own escapes, exact values
        from ruamel.yaml import YAML

        data = YAML(typ="safe").load(written or result.stdout)
        images = [d.get("image") or d["spec"]["image"] for d in
                  (data if isinstance(data, list) else [data])]
        assert IMAGE in images, images


def test_an_apply_summary_shows_a_hostile_api_message_escaped(hostile: Env) -> None:
    from hostile_api import envelope

    hostile.api.answer("/102/stop", body=envelope(None, 10002, f"boom {MARK}\u202e\u2066\x1b[2J"))
    result = hostile("apply", "{manifests}", "--auto-approve")
    assert result.exit_code == 1, result.output
    failed = [line for line in result.output.splitlines() if line.startswith("  failed: svc:")]
    assert failed and f"boom {MARK}\\u202e\\u2066\\x1b[2J" in failed[0], result.output
    assert not INVISIBLE.search(result.output), "raw bidi/invisible characters"


def test_the_chat_line_of_a_drift_report_pings_and_links_nothing(hostile: Env) -> None:
    """`drift --notify` posts the report to chat webhooks, whose `text` line Slack and Discord
    read as markup: a hostile name there could ping `<!channel>` / `@everyone` or link out."""
    hostile.api.answer("/list", [deployment("102", "svc", image=IMAGE),
                                 deployment("400", "<!channel> @everyone <https://evil.example|x>"),
                                 deployment("401", "ok.name")])
    result = hostile("drift", "{manifests}", "-o", "json")
    assert result.exit_code == 2, result.output
    data = json.loads(result.stdout)
    assert {f["deployment"] for f in data["findings"] if f["type"] == "unmanaged"} == {
        "<!channel> @everyone <https://evil.example|x>", "ok.name"}  # precondition: both reported
    text = data["text"]
    assert "`ok.name`: unmanaged" in text
    assert not re.search(r"[<>&]|@everyone|evil", text), text
