"""Project file (yottactl.yaml), --env, ${var:...}: offline, through the CLI and the loader."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.errors import ManifestError
from reconciler.manifest.loader import Rendering, load
from reconciler.manifest.variables import collect
from reconciler.project import Context, Inputs, context_for

BASE = """\
apiVersion: yottactl/v1
kind: ElasticDeployment
metadata:
  name: {name}
spec:
  image: vllm/vllm-openai:${{var:tag}}
  resources:
    - {{region: us-east-1, gpuType: NVIDIA_L4_24G, gpuCount: 1}}
  workers: ${{var:workers}}
  containerVolumeInGb: 50
  serviceMode: QUEUE
  environmentVars:
    MODEL: ${{var:model}}
    HF_TOKEN: ${{env:HF_TOKEN}}
"""


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env={"HF_TOKEN": "hf_x", "NO_COLOR": "1",
                                                     **(env or {})}, catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(__import__("os").environ):
        if name.startswith("YOTTACTL_VAR_") or name == "YOTTACTL_ENV":
            monkeypatch.delenv(name)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "svc.yaml").write_text(BASE.format(name="svc"))
    (tmp_path / "yottactl.yaml").write_text(textwrap.dedent("""\
        manifests: deploy
        variables: {tag: v1, workers: 1, model: small}
        environments:
          staging: {}
          prod:
            variables: {workers: 6, model: large}
            state: state/prod.json
        """))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def rendered(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = run("render", "-o", "json", *args, env=env)
    assert result.exit_code == 0, result.output
    docs: list[dict[str, Any]] = json.loads(result.stdout)
    assert len(docs) == 1
    return docs[0]


def test_precedence_global_env_envvar_then_command_line_order(project: Path) -> None:
    (project / "a.yaml").write_text("workers: 7\nmodel: from-a\n")
    (project / "b.yaml").write_text("workers: 8\n")
    assert rendered()["spec"]["workers"] == 1  # global
    assert rendered("--env", "prod")["spec"]["workers"] == 6  # environment beats global
    assert rendered("--env", "prod", env={"YOTTACTL_VAR_workers": "5"})["spec"]["workers"] == 5
    # --var-file and --var: the later on the command line wins, whichever kind it is
    spec = rendered("--env", "prod", "--var", "workers=9", "--var-file", "a.yaml",
                    env={"YOTTACTL_VAR_workers": "5"})["spec"]
    assert spec["workers"] == 7 and spec["environmentVars"]["MODEL"] == "from-a"
    assert rendered("--var-file", "a.yaml", "--var=workers=9")["spec"]["workers"] == 9
    assert rendered("--var-file=b.yaml", "--var-file", "a.yaml")["spec"]["workers"] == 7
    assert rendered("--var-file", "a.yaml", "--var-file", "b.yaml")["spec"]["workers"] == 8
    assert rendered("--env", "prod", env={"YOTTACTL_ENV": "staging"})["spec"]["environmentVars"][
        "MODEL"] == "large"  # the flag beats YOTTACTL_ENV
    assert rendered(env={"YOTTACTL_ENV": "prod"})["spec"]["workers"] == 6


def test_variables_are_typed(project: Path) -> None:
    spec = rendered("--var", "workers=3", "--var", "tag=1.10")["spec"]
    assert spec["workers"] == 3 and isinstance(spec["workers"], int)
    assert spec["image"] == "vllm/vllm-openai:1.10"  # inside text: as written, not 1.1
    result = run("validate", "--var", "workers=three")
    assert result.exit_code == 1
    assert "deploy/svc.yaml:9:12: spec.workers:" in result.output
    assert "${var:workers} = 'three', set in --var" in result.output
    assert rendered("--var", 'workers="3"')["spec"]["workers"] == "3"  # quotes: a string


def test_undefined_variable_names_position_and_defined_ones(project: Path) -> None:
    text = BASE.format(name="svc").replace("${var:model}", "${var:modle}")
    (project / "deploy" / "svc.yaml").write_text(text)
    result = run("validate")
    assert result.exit_code == 1
    assert "deploy/svc.yaml:13:12: spec.environmentVars.MODEL: variable 'modle' is not defined" \
        in result.output
    assert "did you mean 'model'? defined: model, tag, workers" in result.output


def test_unused_declared_variable_warns(project: Path) -> None:
    config = (project / "yottactl.yaml").read_text().replace("model: small}", "model: small, "
                                                                                "spare: 1}")
    (project / "yottactl.yaml").write_text(config)
    result = run("validate")
    assert result.exit_code == 0
    assert "variable 'spare' is declared" in result.stderr
    assert "'workers' is declared" not in result.stderr
    result = run("validate", env={"YOTTACTL_VAR_other": "x"})  # ambient: no warning
    assert "other" not in result.stderr


def test_variables_are_plain_and_secrets_stay_sensitive(project: Path) -> None:
    context = context_for(None, "prod")
    rendering = Rendering(variables=collect(context.variable_sources(), (), {}))
    [svc] = load(["deploy"], {"HF_TOKEN": "hf_secret"}, rendering=rendering)
    assert svc.manifest.spec.workers == 6
    assert svc.sensitive == {"environmentVars.HF_TOKEN"}  # MODEL (a variable) is not
    assert svc.templates == {"environmentVars.HF_TOKEN": "${env:HF_TOKEN}"}
    assert rendering.used == {"tag", "workers", "model"}


def test_variable_inside_a_secret_template_is_baked_in(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(BASE.format(name="svc").replace(
        "${env:HF_TOKEN}", "${var:model}:${env:HF_TOKEN}:$${literal}"))
    variables = collect([], [("--var", "tag=v1"), ("--var", "workers=1"),
                                    ("--var", "model=m")], {})
    [svc] = load([str(tmp_path)], {"HF_TOKEN": "t"}, rendering=Rendering(variables=variables))
    env = {e.key: e.value for e in svc.manifest.spec.environmentVars}
    assert env["HF_TOKEN"] == "m:t:${literal}"
    assert svc.templates["environmentVars.HF_TOKEN"] == "m:${env:HF_TOKEN}:$${literal}"


def test_render_output_reads_back_and_hides_secrets(project: Path) -> None:
    text = BASE.format(name="svc").replace("MODEL: ${var:model}", "MODEL: $${not_a_var}")
    (project / "deploy" / "svc.yaml").write_text(text)
    result = run("render", "--env", "prod", env={"HF_TOKEN": "hf_SECRET_canary"})
    assert result.exit_code == 0, result.output
    assert "hf_SECRET_canary" not in result.output
    assert "HF_TOKEN: ${env:HF_TOKEN}" in result.stdout
    assert "MODEL: $${not_a_var}" in result.stdout  # still a literal when read back
    assert "# source: deploy/svc.yaml" in result.stdout
    (project / "out").mkdir()
    (project / "out" / "svc.yaml").write_text(result.stdout)
    [again] = load(["out"], {"HF_TOKEN": "hf_SECRET_canary"})
    assert again.manifest.spec.workers == 6
    assert {e.key: e.value for e in again.manifest.spec.environmentVars}["MODEL"] == "${not_a_var}"


def test_render_without_secrets_set(project: Path) -> None:
    result = CliRunner().invoke(main, ["render"], env={"HF_TOKEN": None}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "HF_TOKEN: ${env:HF_TOKEN}" in result.stdout


def test_bad_var_flags_and_files(project: Path) -> None:
    result = run("validate", "--var", "no-equals")
    assert result.exit_code == 1 and "is not NAME=VALUE" in result.output
    (project / "v.yaml").write_text("ok: 1\n9bad: 2\n")
    result = run("validate", "--var-file", "v.yaml")
    assert result.exit_code == 1 and "v.yaml:2:1" in result.output
    (project / "v.yaml").write_text("- a\n")
    result = run("validate", "--var-file", "v.yaml")
    assert result.exit_code == 1 and "a var file is one YAML mapping" in result.output
    result = run("validate", "--var-file", "missing.yaml")
    assert result.exit_code == 1 and "cannot read --var-file missing.yaml" in result.output


# -- the project file ------------------------------------------------------------------------


def test_project_found_from_a_subfolder_and_paths_relative_to_it(project: Path,
                                                                 monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    (project / "deploy" / "deeper").mkdir()
    monkeypatch.chdir(project / "deploy" / "deeper")
    result = run("validate")
    assert result.exit_code == 0 and "1 deployment valid" in result.output
    context = context_for(None, "prod")
    assert context.project is not None and context.project.path == project / "yottactl.yaml"
    assert context.manifests == (str(project / "deploy"),)
    assert context.state == str(project / "state" / "prod.json")
    assert context_for(None, "staging").state == str(project / "state" / "staging.state.json")
    (project / "yottactl.yaml").write_text("variables: {tag: v1, workers: 1, model: m}\n")
    assert context_for(None, None).manifests == (str(project / "deploy"),)  # the default folder
    assert run("validate").exit_code == 0


def test_explicit_project_file(tmp_path_factory: pytest.TempPathFactory, project: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    nothing = run("validate")  # no project and no manifests/ or deploy/ here: refused, with a hint
    assert nothing.exit_code == 1 and "no manifest path given" in nothing.output
    result = run("validate", "--project", str(project / "yottactl.yaml"), "--env", "prod")
    assert result.exit_code == 0, result.output
    result = run("validate", "--project", "nope.yaml")
    assert result.exit_code == 1 and "no such project file: nope.yaml" in result.output


def test_without_a_project_file_nothing_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    monkeypatch.chdir(tmp_path)
    assert context_for(None, None) == Context()
    result = run("validate", "--env", "prod")
    assert result.exit_code == 1 and "there is no yottactl.yaml" in result.output


def test_unknown_environment_suggests(project: Path) -> None:
    result = run("validate", "--env", "prdo")
    assert result.exit_code == 1
    assert "unknown environment 'prdo'" in result.output and "did you mean 'prod'?" in result.output


def test_project_file_errors_have_positions_and_suggestions(project: Path) -> None:
    (project / "yottactl.yaml").write_text(textwrap.dedent("""\
        manifests: deploy
        endpont: https://x
        defaults: {parallelism: 0}
        environments:
          prod:
            overlay: [a.yaml]
            variables: {9x: 1}
        """))
    result = run("validate")
    assert result.exit_code == 1
    out = result.output
    assert "Error: 4 errors in the project file" in out
    assert "yottactl.yaml:2:1: endpont: unknown key 'endpont'" in out
    assert "did you mean 'endpoint'?" in out
    assert "yottactl.yaml:3:25: defaults.parallelism:" in out
    assert "yottactl.yaml:6:5: environments.prod.overlay: unknown key 'overlay'" in out
    assert "did you mean 'overlays'?" in out
    assert "yottactl.yaml:7:17: environments.prod.variables.9x: '9x' is not a valid variable " \
        "name" in out
    (project / "yottactl.yaml").write_text("environments:\n  staging: {state: same.json}\n"
                                           "  qa: {state: ./same.json}\n")
    result = run("validate")
    assert result.exit_code == 1
    assert "yottactl.yaml:3:15: environments.qa.state: environments 'staging' and 'qa' share " \
        "the state same.json" in result.output
    (project / "yottactl.yaml").write_text("manifests: [deploy\n")
    result = run("validate")
    assert result.exit_code == 1 and "YAML syntax error" in result.output
    assert "Traceback" not in result.output


def test_var_files_named_in_the_project_file_sit_between_variables_and_the_command_line(
        project: Path) -> None:
    (project / "vars").mkdir()
    (project / "vars" / "all.yaml").write_text("tag: v2\nworkers: 2\n")
    (project / "vars" / "release.yaml").write_text("tag: v3\n")
    (project / "yottactl.yaml").write_text(textwrap.dedent("""\
        manifests: deploy
        variables: {tag: v1, workers: 1, model: small}
        varFiles: vars/all.yaml
        environments:
          prod:
            variables: {workers: 6, tag: v9}
            varFiles: [vars/release.yaml]
        """))
    # global variables < global varFiles
    assert rendered()["spec"]["image"].endswith(":v2") and rendered()["spec"]["workers"] == 2
    prod = rendered("--env", "prod")["spec"]  # < environment variables < environment varFiles
    assert prod["image"].endswith(":v3") and prod["workers"] == 6
    # < YOTTACTL_VAR_* < the command line; a change to a var file alone changes the plan
    assert rendered("--env", "prod", "--var", "tag=v4")["spec"]["image"].endswith(":v4")
    (project / "vars" / "release.yaml").write_text("tag: v5\n")
    assert rendered("--env", "prod")["spec"]["image"].endswith(":v5")


def test_a_var_file_outside_the_project_or_broken_is_refused_where_it_is_named(
        project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "secrets.yaml"
    outside.write_text("tag: stolen\n")
    (project / "yottactl.yaml").write_text(f"manifests: deploy\nvariables: {{tag: v1, workers: 1, "
                                           f"model: m}}\nenvironments:\n  prod:\n    varFiles: "
                                           f"[{outside}]\n")
    result = run("validate", "--env", "prod")
    assert result.exit_code == 1 and "yottactl.yaml:5:16" in result.output, result.output
    assert "outside the project folder" in result.output and "stolen" not in result.output
    (project / "bad.yaml").write_text("tag: [\n")
    (project / "yottactl.yaml").write_text("manifests: deploy\nvarFiles: bad.yaml\n")
    result = run("validate")
    assert result.exit_code == 1 and "bad.yaml" in result.output, result.output
    assert "Traceback" not in result.output
    (project / "yottactl.yaml").write_text("manifests: deploy\nvarFiles: vars/missing.yaml\n")
    result = run("validate")  # named as the project file names it, not as a --var-file
    assert result.exit_code == 1 and "cannot read varFiles vars/missing.yaml" in result.output
    assert "check varFiles in yottactl.yaml" in result.output, result.output


def test_project_schema_describes_every_key() -> None:
    result = run("schema", "--project")
    schema = json.loads(result.stdout)
    assert set(schema["properties"]) == {"manifests", "endpoint", "state", "variables", "defaults",
                                         "environments", "policies", "api", "agent", "varFiles"}
    env = schema["$defs"]["Environment"]["properties"]
    assert set(env) == {"endpoint", "state", "variables", "overlays", "manifests", "rollout",
                        "policies", "api", "agent", "varFiles"}
    committed = Path(__file__).resolve().parents[1] / "schema" / "project-v1.schema.json"
    assert json.loads(committed.read_text()) == schema


def test_project_defaults_fill_flags_not_given(project: Path) -> None:
    from reconciler.cli.options import after_parse, current_inputs

    (project / "yottactl.yaml").write_text("manifests: deploy\ndefaults: {parallelism: 3, "
                                           "timeout: 60, lockTimeout: 5}\n")
    apply_cmd = main.commands["apply"]
    with apply_cmd.make_context("apply", []) as ctx:
        assert (ctx.params["parallelism"], ctx.params["timeout"], ctx.params["lock_timeout"]) == (
            3, 60, 5)
    with apply_cmd.make_context("apply", ["--parallelism", "7"]) as ctx:
        assert ctx.params["parallelism"] == 7 and ctx.params["timeout"] == 60
        with ctx:
            after_parse(ctx)
            assert isinstance(current_inputs(), Inputs)


def test_manifest_error_in_the_project_manifests(project: Path) -> None:
    (project / "deploy" / "svc.yaml").write_text(BASE.format(name="svc").replace(
        "containerVolumeInGb: 50", "containerVolumeInGb: 5"))
    with pytest.raises(ManifestError):
        load(["deploy"], {"HF_TOKEN": "x"}, rendering=Rendering(
            variables=collect(context_for(None, None).variable_sources(), (), {})))


def settings_for(args: list[str]) -> Any:
    from reconciler.cli.options import settings

    command = main.commands["plan"]
    with command.make_context("plan", args) as ctx:
        return settings(ctx.params["endpoint"], None, ctx.params["state_path"])


def test_each_environment_gets_its_own_state(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings_for(["--env", "staging"]).state_path == "state/staging.state.json"
    assert settings_for(["--env", "prod"]).state_path == "state/prod.json"
    assert settings_for(["--env", "prod", "--state", "x.json"]).state_path == "x.json"
    monkeypatch.setenv("YOTTACTL_STATE", "postgresql://db.internal/yotta")
    assert settings_for(["--env", "staging"]).state_path == \
        "postgresql://db.internal/yotta?state=staging"  # one database URL, one state per env
    assert settings_for(["--env", "prod"]).state_path == "state/prod.json"  # its own wins
    assert settings_for([]).state_path == "postgresql://db.internal/yotta"  # no env: as today
    monkeypatch.setenv("YOTTACTL_STATE", "shared.json")
    result = run("plan", "--env", "staging", env={"YOTTACTL_STATE": "shared.json"})
    assert result.exit_code == 1
    assert "YOTTACTL_STATE names one state file, but environment 'staging' needs its own" \
        in result.output
    (project / "yottactl.yaml").write_text(textwrap.dedent("""\
        state: postgres://db/yotta?sslmode=require
        environments:
          qa: {}
          prod: {state: "postgresql://db/yotta"}
        """))
    monkeypatch.delenv("YOTTACTL_STATE")
    assert context_for(None, "qa").state == "postgres://db/yotta?sslmode=require&state=qa"
    assert context_for(None, "prod").state == "postgresql://db/yotta?state=prod"
    assert context_for(None, None).state == "postgres://db/yotta?sslmode=require"


def test_a_run_without_a_project_file_has_the_validated_defaults() -> None:
    """Context's defaults are built without validation (start-up time); they must be exactly
    what validating an empty section gives, rule for rule."""
    from reconciler.project import Context
    from reconciler.project_schema import Agent, Defaults, Policies

    context = Context()
    for built, validated in ((context.policies, Policies()), (context.agent, Agent()),
                             (context.defaults, Defaults())):
        assert type(built) is type(validated)
        assert built.model_dump() == validated.model_dump() and built == validated
    assert context.policies.active() == {}
