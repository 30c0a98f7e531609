"""A new GPU type or region needs no release: a user catalog (YOTTACTL_CATALOG) extends or
overrides the built-in one, and --allow-unknown-gpu lets an unknown type through with a warning."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from reconciler.cli import main

from conftest import Cli, manifest_text

NEW_GPU = "NVIDIA_X200_96G"


def write_manifest(folder: Path, gpu: str, region: str = "us-east-1") -> None:
    folder.mkdir(exist_ok=True)
    text = manifest_text("svc").replace("gpuType: NVIDIA_RTX_4090_24G", f"gpuType: {gpu}")
    (folder / "svc.yaml").write_text(text.replace("region: us-east-1", f"region: {region}"))


def validate(folder: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["validate", str(folder / "m"), *args],
                              env={"HF_TOKEN": "x", "YOTTACTL_CATALOG": "", **(env or {})},
                              catch_exceptions=False)


def test_unknown_gpu_is_an_error_naming_the_ways_out(tmp_path: Path) -> None:
    write_manifest(tmp_path / "m", NEW_GPU)
    result = validate(tmp_path)
    assert result.exit_code == 1
    assert f"unknown GPU type '{NEW_GPU}'" in result.stderr
    assert "YOTTACTL_CATALOG" in result.stderr and "--allow-unknown-gpu" in result.stderr


def test_user_catalog_adds_gpu_types_and_regions(tmp_path: Path) -> None:
    write_manifest(tmp_path / "m", NEW_GPU, region="eu-north-9")
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(f"gpuTypes:\n  {NEW_GPU}: {{pricePerHour: 3.5}}\n"
                       "regions:\n  eu-north-9: Somewhere cold\n")
    result = validate(tmp_path, env={"YOTTACTL_CATALOG": str(catalog)})
    assert result.exit_code == 0, result.stderr
    assert "1 deployment valid" in result.output
    again = validate(tmp_path)  # the catalog is per command: without it, invalid again
    assert again.exit_code == 1


def test_allow_unknown_gpu_warns_and_passes(tmp_path: Path) -> None:
    write_manifest(tmp_path / "m", NEW_GPU)
    result = validate(tmp_path, "--allow-unknown-gpu")
    assert result.exit_code == 0, result.stderr
    assert f"GPU type '{NEW_GPU}' is not in the catalog" in result.stderr
    assert validate(tmp_path).exit_code == 1  # the flag does not outlive its command


def test_a_bad_catalog_file_is_a_clean_error(tmp_path: Path) -> None:
    write_manifest(tmp_path / "m", "NVIDIA_L4_24G")
    bad = tmp_path / "catalog.json"
    bad.write_text(json.dumps({"gpuTypes": {"X": {"pricePerHour": "cheap"}}}))
    result = validate(tmp_path, env={"YOTTACTL_CATALOG": str(bad)})
    assert result.exit_code == 1 and "gpuTypes.X.pricePerHour must be a number" in result.stderr
    bad = tmp_path / "catalog.yaml"
    for price in (".inf", ".nan", "-1", "1e400", "true"):  # budgets sum it; plan JSON has no NaN
        bad.write_text(f"gpuTypes:\n  X: {{pricePerHour: {price}}}\n")
        result = validate(tmp_path, env={"YOTTACTL_CATALOG": str(bad)})
        assert result.exit_code == 1, price
        assert "gpuTypes.X.pricePerHour must be a number (finite, not negative)" in result.stderr
    missing = validate(tmp_path, env={"YOTTACTL_CATALOG": str(tmp_path / "none.json")})
    assert missing.exit_code == 1 and "cannot read the catalog file" in missing.stderr


def test_user_catalog_overrides_a_built_in_price(cli: Cli) -> None:
    cli.write("svc")  # NVIDIA_RTX_4090_24G x1, 2 workers, 50 GB
    catalog = cli.folder / "prices.json"
    catalog.write_text(json.dumps({"gpuTypes": {"NVIDIA_RTX_4090_24G": {"pricePerHour": 10}},
                                   "storagePricePerGbHour": 0.0}))
    cli.env["YOTTACTL_CATALOG"] = str(catalog)
    result = cli("plan", str(cli.manifests), "-o", "json")
    assert result.exit_code == 0, result.stderr
    [change] = json.loads(result.output)["changes"]
    assert change["price_after"] == 20.0  # 2 workers x 10 $/h x 1 GPU, storage free


def test_a_user_entry_overrides_a_built_in_one_field_by_field(cli: Cli) -> None:
    """An entry giving only a display name (or only a price) keeps the built-in's other fields:
    the built-in price here, so the plan's cost stays known."""
    cli.write("svc")
    plain = json.loads(cli("plan", str(cli.manifests), "-o", "json").output)["changes"][0]
    catalog = cli.folder / "names.yaml"
    catalog.write_text("gpuTypes:\n  NVIDIA_RTX_4090_24G: {displayName: Our 4090}\n")
    cli.env["YOTTACTL_CATALOG"] = str(catalog)
    [change] = json.loads(cli("plan", str(cli.manifests), "-o", "json").output)["changes"]
    assert change["price_after"] == plain["price_after"] is not None


def test_a_commands_catalog_does_not_outlive_it(tmp_path: Path) -> None:
    """The catalog belongs to the command (no process state): after a command that named a
    missing catalog file, or allowed unknown GPU types, the next command in the same process
    sees the built-in catalog, strict again."""
    from reconciler.catalog import builtin_catalog

    write_manifest(tmp_path / "m", "NVIDIA_L4_24G")
    missing = validate(tmp_path, env={"YOTTACTL_CATALOG": str(tmp_path / "none.json")})
    assert missing.exit_code == 1 and "cannot read the catalog file" in missing.stderr
    assert "NVIDIA_L4_24G" in builtin_catalog().gpu_types
    assert validate(tmp_path).exit_code == 0  # the next command: no catalog file
