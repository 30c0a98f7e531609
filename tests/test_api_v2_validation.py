"""`validate` per API version (issue 27): under v2 a name has at most 20 characters, and a
blue-green deployment's name leaves room for its rollout name NAME@alt (at most 16); v2's
webhook takes at most 512 characters. Offline, with file:line:col and a hint; v1 unchanged."""

from __future__ import annotations

import pytest

from conftest import Cli, manifest_text


def write(cli: Cli, name: str, *, extra: str = "") -> str:
    path = cli.manifests / "app.yaml"
    path.write_text(manifest_text(name) + extra)
    return str(path)


def validate(cli: Cli, version: str, *args: str) -> tuple[int, str]:
    result = cli.run("validate", str(cli.manifests), "--api-version", version, *args)
    return result.returncode, str(result.stderr)


@pytest.mark.parametrize(("name", "v2_ok"), [("a" * 20, True), ("a" * 21, False)])
def test_v2_names_have_at_most_20_characters(cli: Cli, name: str, v2_ok: bool) -> None:
    path = write(cli, name)
    assert validate(cli, "v1") == (0, "")
    code, err = validate(cli, "v2")
    assert code == (0 if v2_ok else 1), err
    if not v2_ok:
        assert f"{path}:4:9" in err  # metadata.name's value
        assert "the v2 API takes names of at most 20 characters" in err
        assert "shorten the name to at most 20 characters" in err and "--api-version v1" in err


BLUE_GREEN = "lifecycle:\n  rollout: blueGreen\n"


@pytest.mark.parametrize(("name", "v2_ok"), [("b" * 16, True), ("b" * 17, False)])
def test_a_blue_green_name_leaves_room_for_its_rollout_name(cli: Cli, name: str,
                                                            v2_ok: bool) -> None:
    write(cli, name, extra=BLUE_GREEN)
    assert validate(cli, "v1")[0] == 0
    code, err = validate(cli, "v2")
    assert code == (0 if v2_ok else 1), err
    if not v2_ok:
        assert f"runs the new deployment as {name}@alt" in err
        assert "at most 16 characters" in err


def test_the_projects_default_rollout_counts_too(cli: Cli) -> None:
    write(cli, "c" * 17)
    (cli.folder / "yottactl.yaml").write_text("defaults: {rollout: blueGreen}\n")
    project = ("--project", str(cli.folder / "yottactl.yaml"))
    assert validate(cli, "v2")[0] == 0  # no project file: recreate, 17 fits
    code, err = validate(cli, "v2", *project)
    assert code == 1 and f"{'c' * 17}@alt" in err


def test_v2_webhook_has_at_most_512_characters(cli: Cli) -> None:
    url = "https://hooks.example.com/" + "x" * 487  # 513 characters
    path = write(cli, "web", extra=f"  webhookUrl: {url}\n")  # the last spec key
    assert validate(cli, "v1")[0] == 0
    code, err = validate(cli, "v2")
    assert code == 1
    assert f"{path}:17:15: spec.webhookUrl" in err, err
    assert "webhookUrl has 513 characters: the v2 API takes at most 512" in err
    assert url not in err  # a webhook URL may carry a token: never echoed


@pytest.mark.parametrize(("given", "said", "hint"), [
    ('"0012"', "credentialId '0012' has leading zeros", 'write credentialId: "12"'),
    ('"9223372036854775808"', "credentialId '9223372036854775808' is larger than the v2 API's "
     "integer holds (at most 9223372036854775807)", "the numbers shown in the Yotta console"),
])
def test_v2_refuses_a_credential_id_it_would_read_back_as_another_text(
        cli: Cli, given: str, said: str, hint: str) -> None:
    """v2 sends int(credentialId) and reads back str(int): "0012" would come back "12", a
    difference every plan would update (and int64 is the wire's limit)."""
    path = write(cli, "web", extra=f"  credentialId: {given}\n")  # the last spec key
    assert validate(cli, "v1")[0] == 0
    code, err = validate(cli, "v2")
    assert code == 1
    assert f"{path}:17:17: spec.credentialId" in err, err
    assert said in err and hint in err
    planned = cli.run("plan", str(cli.manifests), "--api-version", "v2")  # plan refuses too
    assert planned.returncode == 1 and said in planned.stderr
    write(cli, "web", extra='  credentialId: "12"\n')
    assert validate(cli, "v2") == (0, "")


@pytest.mark.parametrize("name", ["1abc", "x" * 51])
def test_a_name_breaking_the_character_rule_hints_at_the_versions_length(cli: Cli,
                                                                         name: str) -> None:
    write(cli, name)
    code, err = validate(cli, "v2")
    assert code == 1 and "is not a valid deployment name" in err
    assert ("names start with a letter and use letters, digits, @ . _ - (at most 20 under the "
            "v2 API; 16 for a blueGreen rollout, whose new deployment is NAME@alt)") in err
    assert "at most 50" not in err
    code, err = validate(cli, "v1")
    assert code == 1 and "use letters, digits, @ . _ - (at most 50)" in err
