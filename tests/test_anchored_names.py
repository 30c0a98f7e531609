"""A name with a trailing newline ("abc\\n") is refused everywhere a name is checked: Python's `$`
also matches before a final newline, so every pattern is anchored with \\Z or used with fullmatch."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from reconciler.api.models import CreateRequest, UpdateRequest
from reconciler.cli import main
from reconciler.emulator import spec
from reconciler.errors import UsageError
from reconciler.manifest.interpolate import interpolate
from reconciler.manifest.variables import Variable, collect

from conftest import Cli, create_body, manifest_text

NEWLINE_NAMES = ["abc\n", "ab cd", "abc\n\n"]


def test_validate_refuses_a_name_with_a_trailing_newline(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(manifest_text("abc"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(manifest_text('"abc\\n"'))
    runner = CliRunner(env={"HF_TOKEN": "hf_x"})
    assert runner.invoke(main, ["validate", str(good)]).exit_code == 0  # precondition
    refused = runner.invoke(main, ["validate", str(bad)])
    assert refused.exit_code == 1 and "is not a valid deployment name" in refused.stderr


@pytest.mark.parametrize("model", [CreateRequest, UpdateRequest])
@pytest.mark.parametrize("name", NEWLINE_NAMES)
def test_client_request_models_refuse_the_name(model: type[UpdateRequest], name: str) -> None:
    body = create_body("abc")
    if model is UpdateRequest:
        body = {k: v for k, v in body.items() if k not in ("image", "serviceMode", "imageRegistry")}
    assert model.model_validate(body).name == "abc"  # precondition: the body is otherwise valid
    with pytest.raises(ValidationError) as err:
        model.model_validate({**body, "name": name})
    assert err.value.errors()[0]["loc"] == ("name",)


@pytest.mark.parametrize("name", NEWLINE_NAMES)
def test_state_mv_refuses_the_name(cli: Cli, name: str) -> None:
    cli.write("a")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    moved = cli("state", "mv", "a", name)
    assert moved.exit_code == 1 and "not a valid deployment name" in moved.stderr
    assert cli("state", "mv", "a", "b").exit_code == 0  # precondition: a valid name is taken


def test_emulator_routes_match_the_whole_path() -> None:
    listing = spec.match("GET", "/openapi/v1/elastic/deploy/list")
    assert listing is not None and listing[0].template.endswith("/list")  # precondition
    found = spec.match("GET", "/openapi/v1/elastic/deploy/list\n")  # an id (refused as one), not list
    assert found is not None and found[1] == {"id": "list\n"}


def test_var_flag_name_with_a_newline_is_refused() -> None:
    assert "X" in collect([], [("--var", "X=1")], environ={})  # precondition
    with pytest.raises(UsageError):
        collect([], [("--var", "X\n=1")], environ={})
    assert collect([], [], environ={"YOTTACTL_VAR_X\n": "1"}) == {}


def test_whole_variable_match_keeps_a_trailing_newline() -> None:
    variables = {"X": Variable("v", "v", "--var")}
    assert interpolate({"a": "${var:X}"}, {}, variables).value == {"a": "v"}  # precondition
    assert interpolate({"a": "${var:X}\n"}, {}, variables).value == {"a": "v\n"}
