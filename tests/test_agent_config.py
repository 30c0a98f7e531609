"""The project file's `agent:` keys: validated by `yottactl validate` with positions, merged
per environment, overridden by flags."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main
from reconciler.cli.agent import options_from
from reconciler.project import load, resolve

PROJECT = """\
agent:
  mode: heal
  interval: 30
  maxHealsPerHour: 4
environments:
  prod:
    agent:
      interval: 120
      prune: true
      syncWindows:
        - allow: "Mon-Fri 08:00-18:00"
"""


def test_environment_agent_keys_override_the_global_ones(tmp_path: Path) -> None:
    (tmp_path / "yottactl.yaml").write_text(PROJECT)
    project = load(tmp_path / "yottactl.yaml")
    prod = options_from(resolve(project, "prod").agent, None, None)
    assert (prod.mode, prod.interval, prod.prune, prod.heals_per_hour) == ("heal", 120, True, 4)
    assert [w.text for w in prod.windows] == ["Mon-Fri 08:00-18:00"]
    default = options_from(resolve(project, None).agent, "observe", 10)
    assert (default.mode, default.interval, default.prune, default.windows) == (
        "observe", 10, False, ())


def validate(tmp_path: Path, text: str) -> tuple[int, str]:
    (tmp_path / "yottactl.yaml").write_text(text)
    (tmp_path / "manifests").mkdir(exist_ok=True)
    result = CliRunner().invoke(main, ["validate", "--project",
                                       str(tmp_path / "yottactl.yaml")])
    return result.exit_code, result.output + (result.stderr or "")


def test_validate_reports_bad_agent_keys_with_positions(tmp_path: Path) -> None:
    code, out = validate(tmp_path, PROJECT.replace('"Mon-Fri 08:00-18:00"', '"Mon-Fri 8-18"')
                         .replace("mode: heal", "mode: fix"))
    assert code == 1
    assert "yottactl.yaml:2:" in out and "fix" in out  # agent.mode: observe or heal
    assert "yottactl.yaml:11:" in out and "not a sync window" in out
    code, out = validate(tmp_path, "agent:\n  intervall: 5\n")
    assert code == 1 and "yottactl.yaml:2:3" in out and "did you mean 'interval'" in out


def test_a_git_url_in_the_project_file_is_refused(tmp_path: Path) -> None:
    code, out = validate(tmp_path, "agent:\n  source: https://example.com/x.git\n")
    assert code == 1 and "yottactl.yaml:2:" in out and "--source URL" in out
