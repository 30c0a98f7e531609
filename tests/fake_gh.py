"""A stand-in for the GitHub CLI (`gh`) for executing the CI recipes' shell steps.

It implements only the calls the recipes make, on a JSON file that plays the repository
($FAKE_GH_STATE: comments, issues, labels, commit statuses, the pull requests of
commits), records every call in $FAKE_GH_LOG (one JSON line
each) and fails loudly on anything else, so a recipe cannot drift outside what is tested.
`--jq` runs the real jq (as gh's built-in gojq would). Needs GH_TOKEN, as gh does in Actions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BOT = "github-actions[bot]"


def fail(message: str, code: int = 1) -> None:
    print(f"fake gh: {message}", file=sys.stderr)
    sys.exit(code)


def options(args: list[str], flags: set[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Positional arguments and {option: [values]}; `flags` take no value."""
    positional: list[str] = []
    found: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-"):
            name, _, inline = arg.partition("=")
            if name in flags:
                found.setdefault(name, []).append("")
            else:
                if not inline:
                    i += 1
                    if i >= len(args):
                        fail(f"{name} needs a value")
                    inline = args[i]
                found.setdefault(name, []).append(inline)
        else:
            positional.append(arg)
        i += 1
    return positional, found


def one(found: dict[str, list[str]], *names: str) -> str | None:
    for name in names:
        if name in found:
            return found[name][-1]
    return None


def emit(value: Any, jq: str | None) -> None:
    text = json.dumps(value)
    if jq is None:
        print(text)
        return
    result = subprocess.run(["jq", "-r", jq], input=text, capture_output=True, text=True)
    if result.returncode:
        fail(f"jq: {result.stderr.strip()}")
    sys.stdout.write(result.stdout)


def body_of(found: dict[str, list[str]]) -> str | None:
    if "--body-file" in found:
        return Path(found["--body-file"][-1]).read_text(encoding="utf-8")
    return one(found, "--body", "-b")


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = (json.loads(path.read_text()) if path.exists() else {})
        self.data.setdefault("comments", {})  # issue/PR number -> [{id, body, user}]
        self.data.setdefault("issues", [])     # [{number, title, body, state, labels, comments}]
        self.data.setdefault("labels", [])     # [{name, color, description}]
        self.data.setdefault("statuses", {})   # commit sha -> [{state, context, description, target_url}]
        self.data.setdefault("commit_pulls", {})  # commit sha -> [pull request number] (set by tests)
        self.data.setdefault("next_id", 1000)

    def save(self) -> None:
        self.path.write_text(json.dumps(self.data, indent=2))

    def new_id(self) -> int:
        self.data["next_id"] += 1
        return int(self.data["next_id"])

    def issue(self, number: str) -> dict[str, Any]:
        for issue in self.data["issues"]:
            if str(issue["number"]) == number:
                return dict(issue)
        fail(f"no issue {number}")
        raise AssertionError

    def update_issue(self, number: str, **changes: Any) -> None:
        for issue in self.data["issues"]:
            if str(issue["number"]) == number:
                issue.update(changes)


def api(repo: Repo, args: list[str]) -> None:
    positional, found = options(args, {"--paginate"})
    method = (one(found, "--method", "-X") or "GET").upper()
    [path] = positional
    fields = {}
    for field in found.get("-F", []) + found.get("--field", []):
        key, _, value = field.partition("=")
        fields[key] = Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value
    for field in found.get("-f", []) + found.get("--raw-field", []):  # strings, as written
        key, _, value = field.partition("=")
        fields[key] = value
    parts = path.strip("/").split("/")
    if parts[:1] != ["repos"] or "/".join(parts[1:3]) != os.environ.get("GITHUB_REPOSITORY"):
        fail(f"unexpected API path {path}")
    rest = parts[3:]
    if rest[:1] == ["issues"] and len(rest) == 3 and rest[2] == "comments":
        comments = repo.data["comments"].setdefault(rest[1], [])
        if method == "GET":
            emit(comments, one(found, "--jq", "-q"))
            return
        if method == "POST":
            comment = {"id": repo.new_id(), "body": fields["body"], "user": {"login": BOT}}
            comments.append(comment)
            emit(comment, one(found, "--jq", "-q"))
            return
    if rest[:1] == ["statuses"] and len(rest) == 2 and method == "POST":
        if fields.get("state") not in ("error", "failure", "pending", "success"):
            fail(f"HTTP 422: state {fields.get('state')!r} is not a commit status state", 1)
        if len(fields.get("description", "")) > 140:
            fail("HTTP 422: description is too long (maximum is 140 characters)", 1)
        repo.data["statuses"].setdefault(rest[1], []).append(fields)
        emit(fields, one(found, "--jq", "-q"))
        return
    if rest[:1] == ["commits"] and len(rest) == 3 and rest[2] == "pulls" and method == "GET":
        emit([{"number": n} for n in repo.data["commit_pulls"].get(rest[1], [])],
             one(found, "--jq", "-q"))
        return
    if rest[:2] == ["issues", "comments"] and len(rest) == 3 and method == "PATCH":
        for comments in repo.data["comments"].values():
            for comment in comments:
                if str(comment["id"]) == rest[2]:
                    comment["body"] = fields["body"]
                    emit(comment, one(found, "--jq", "-q"))
                    return
        fail(f"no comment {rest[2]}", 4)
    fail(f"unsupported API call {method} {path}")


def label(repo: Repo, args: list[str]) -> None:
    positional, found = options(args[1:], {"--force"})
    if args[0] == "list":
        search = one(found, "--search", "-S") or ""
        emit([lb for lb in repo.data["labels"] if search in lb["name"]], one(found, "--jq", "-q"))
    elif args[0] == "create":
        [name] = positional
        if any(lb["name"] == name for lb in repo.data["labels"]) and "--force" not in found:
            fail(f"label {name!r} already exists")
        repo.data["labels"].append({"name": name, "color": one(found, "--color", "-c"),
                                    "description": one(found, "--description", "-d")})
    else:
        fail(f"unsupported: gh label {args[0]}")


def issue(repo: Repo, args: list[str]) -> None:
    sub = args[0]
    positional, found = options(args[1:], set())
    if sub == "list":
        wanted_label, state = one(found, "--label", "-l"), one(found, "--state", "-s") or "open"
        rows = [i for i in repo.data["issues"] if (state == "all" or i["state"] == state)
                and (wanted_label is None or wanted_label in i["labels"])]
        fields = (one(found, "--json") or "number").split(",")
        emit([{f: i[f] for f in fields} for i in rows][: int(one(found, "--limit", "-L") or 30)],
             one(found, "--jq", "-q"))
    elif sub == "create":
        labels = found.get("--label", []) + found.get("-l", [])
        for name in labels:
            if not any(lb["name"] == name for lb in repo.data["labels"]):
                fail(f"could not add label: '{name}' not found")
        number = len(repo.data["issues"]) + 1
        repo.data["issues"].append({"number": number, "title": one(found, "--title", "-t"),
                                    "body": body_of(found), "state": "open", "labels": labels,
                                    "comments": []})
        print(f"https://github.com/{os.environ['GH_REPO']}/issues/{number}")
    elif sub == "view":
        [number] = positional
        current = repo.issue(number)
        fields = (one(found, "--json") or "body").split(",")
        emit({f: current[f] for f in fields}, one(found, "--jq", "-q"))
    elif sub == "edit":
        [number] = positional
        repo.issue(number)
        repo.update_issue(number, body=body_of(found))
    elif sub in ("comment", "close"):
        [number] = positional
        comments = repo.issue(number)["comments"]
        text = body_of(found) if sub == "comment" else one(found, "--comment", "-c")
        if text is not None:
            comments = [*comments, text]
        repo.update_issue(number, comments=comments,
                          **({"state": "closed"} if sub == "close" else {}))
    else:
        fail(f"unsupported: gh issue {sub}")


def main(argv: list[str]) -> None:
    with Path(os.environ["FAKE_GH_LOG"]).open("a") as log:
        log.write(json.dumps(argv) + "\n")
    if not os.environ.get("GH_TOKEN"):
        fail("set the GH_TOKEN environment variable to use gh in GitHub Actions", 4)
    repo = Repo(Path(os.environ["FAKE_GH_STATE"]))
    if argv[:1] == ["api"]:
        api(repo, argv[1:])
    elif argv[:1] in (["issue"], ["label"]):
        if not os.environ.get("GH_REPO"):  # no checkout in that job: gh needs GH_REPO
            fail("not a git repository (or GH_REPO unset)")
        (issue if argv[0] == "issue" else label)(repo, argv[1:])
    else:
        fail(f"unsupported: gh {' '.join(argv[:2])}")
    repo.save()


if __name__ == "__main__":
    main(sys.argv[1:])
