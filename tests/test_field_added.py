"""A field added to the table (``reconciler/fields.py``) never leaks into files written before it:
an unset new field is not written, so their bytes and fingerprints stay, and a plan saved
before an upgrade still applies after it (ARCHITECTURE.md §4).

The new row is added the way a developer adds one: the table's own source, with one more
``plain`` row, run as ``reconciler.fields`` in a fresh process before anything derives from it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import Cli

NEW_FIELD = "maxQueueLength"
_ADD_ROW = f"""
import reconciler.fields as fields
from pathlib import Path
source = Path(fields.__file__).read_text(encoding="utf-8")
end = source.index("\\n)\\n", source.index("FIELDS: tuple[DeploymentField, ...] = ("))
row = ('\\n    DeploymentField("{NEW_FIELD}", Kind.INT, required=False, updatable=True, '
       'plain=True, bounds=(0, 1000)),')
exec(compile(source[:end] + row + source[end:], fields.__file__, "exec"), fields.__dict__)
assert fields.NAMES[-1] == "{NEW_FIELD}" and fields.PLAIN_FIELDS[-1].name == "{NEW_FIELD}"
"""
HERE = Path(__file__).parent
RELEASE = HERE / "release_files"


def _python(code: str, *, new_row: bool, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", (_ADD_ROW if new_row else "") + code],
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=120)


# what a build reads from the files (state essences, their fingerprints, a plan's bytes and
# fingerprint), printed as JSON: the same with and without the new row
_READ = """
import json, shutil, sys, tempfile
from pathlib import Path
from reconciler.essence import FIELD_NAMES
from reconciler.plan.model import Plan
from reconciler.plan.normalize import Fingerprinter, status_fingerprint
from reconciler.state.files import StateFile
fp = Fingerprinter(b"a fixed key")
out = {"fields": list(FIELD_NAMES), "states": {}, "plans": {}}
for name in sys.argv[1:]:
    path = Path(name)
    if name.endswith(".state.json"):
        copy = Path(tempfile.mkdtemp()) / path.name
        shutil.copy(path, copy)
        state = StateFile(copy).read()
        out["states"][name] = {
            "bytes": state.model_dump_json(indent=1),
            "fingerprints": {n: fp.obj(e.spec) for n, e in state.deployments.items()},
            "status": {n: status_fingerprint(fp, e.spec, e.status)
                       for n, e in state.deployments.items()}}
    else:
        plan = Plan.from_json(path.read_text(encoding="utf-8"))
        out["plans"][name] = {"bytes": plan.to_json(), "fingerprint": fp.obj(plan.to_json())}
print(json.dumps(out))
"""


def _read(files: list[Path], *, new_row: bool) -> dict[str, object]:
    code = _READ.replace("sys.argv[1:]", repr([str(f) for f in files]))
    done = _python(code, new_row=new_row)
    assert done.returncode == 0, done.stderr
    out: dict[str, object] = json.loads(done.stdout)
    return out


def test_files_written_before_a_new_field_keep_their_bytes_and_fingerprints(
        cli: Cli, tmp_path: Path) -> None:
    cli.write("web")
    cli.write("jobs", mode="QUEUE", workers=1)
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    cli.write("web", workers=3)
    assert cli("plan", str(cli.manifests), "--out", str(tmp_path / "now.plan.json")).exit_code == 0
    files = [cli.state, tmp_path / "now.plan.json", *sorted(RELEASE.glob("*.json"))]
    before, after = _read(files, new_row=False), _read(files, new_row=True)
    assert after["fields"] == [*before["fields"], NEW_FIELD]  # type: ignore[misc]
    assert len(before["states"]) == 3 and len(before["plans"]) == 3  # type: ignore[arg-type]
    assert after["states"] == before["states"]
    assert after["plans"] == before["plans"]
    # and today's files are written as they were read: nothing added, nothing dropped
    for name, read in before["plans"].items():  # type: ignore[attr-defined]
        if not name.startswith(str(RELEASE)):
            assert read["bytes"] == Path(name).read_text(encoding="utf-8")
    assert NEW_FIELD not in json.dumps([after["states"], after["plans"]])


def test_a_plan_saved_before_the_upgrade_applies_after_it_and_the_state_stays_clean(
        cli: Cli) -> None:
    cli.write("web")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    cli.write("web", workers=3)
    plan_file = cli.folder / "saved.plan.json"
    assert cli("plan", str(cli.manifests), "--out", str(plan_file)).exit_code == 0
    state_before = cli.state.read_bytes()
    # the upgraded build (one more row) applies the plan the old one saved
    run = "import sys; from reconciler.entry import run; sys.argv[0] = 'yottactl'; run()"
    upgraded = "\nimport sys\nsys.argv[1:] = {args!r}\n" + run
    applied = _python(upgraded.format(args=["apply", "--plan", str(plan_file)]), new_row=True,
                      env=cli.env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "stale" not in applied.stdout + applied.stderr
    assert cli.client().list()[0].totalWorkers == 3
    state_after = cli.state.read_text(encoding="utf-8")
    assert state_after != state_before.decode() and NEW_FIELD not in state_after
    # and plans clean with both builds: the state the upgrade wrote, read by the old one too
    clean = _python(upgraded.format(args=["plan", str(cli.manifests), "--detailed-exitcode"]),
                    new_row=True, env=cli.env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert cli("plan", str(cli.manifests), "--detailed-exitcode").exit_code == 0


def test_a_new_field_that_is_set_is_written(tmp_path: Path) -> None:
    """The other half: omitting is only for unset values (precondition of the tests above)."""
    shutil.copy(RELEASE / "v1.state.json", tmp_path / "s.state.json")
    code = f"""
from reconciler.state.files import StateFile
state = StateFile({str(tmp_path / "s.state.json")!r}).read()
entry = state.deployments["web"]
spec = entry.spec.model_copy(update={{"{NEW_FIELD}": 7}})
print(state.with_entry("web", entry.model_copy(update={{"spec": spec}})).model_dump_json())
"""
    done = _python(code, new_row=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["deployments"]["web"]["spec"][NEW_FIELD] == 7
