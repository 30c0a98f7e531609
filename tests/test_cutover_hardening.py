"""What a cutover command (lifecycle.cutover, from a file a pull request can edit) can leak
or miss (R-23 findings 5, 6): its output is masked with the known secrets and the state keeps
only a short cause; a relative command runs from the project folder, never outside it, and
validate checks that it exists and is executable."""

from __future__ import annotations

from pathlib import Path

from test_rollout_e2e import NEW, first_apply, fleet, mutated, state_entry, write

from conftest import API_KEY, CANARY, Cli

__all__ = ["fleet"]  # the emulator fixture of the rollout tests


def files_holding(folder: Path, *needles: str) -> list[str]:
    """Files under ``folder`` (state, backups, journal, plan files) that contain a needle."""
    return sorted(str(p) for p in folder.rglob("*") if p.is_file() and any(
        n.encode() in p.read_bytes() for n in needles))


def test_cutover_output_is_masked_and_kept_short(fleet: Cli, tmp_path: Path) -> None:
    leak = tmp_path / "outside" / "leak.txt"  # what a command may read: files, /proc/$PPID
    leak.parent.mkdir()
    leak.write_text(f"token {CANARY} key {API_KEY}\n" + "noise\n" * 50)
    cutover = f"cutover: {{command: [sh, -c, 'cat {leak} >&2; exit 3']}}"
    blue = first_apply(fleet, cutover)
    write(fleet, image=NEW, lifecycle=cutover)
    result = fleet("apply", str(fleet.manifests), "--auto-approve", "--keep-failed")
    assert result.exit_code == 1 and "the cutover command exited 3: token [redacted] key " \
        "[redacted]" in result.output, result.output
    assert CANARY not in result.output and API_KEY not in result.output
    assert state_entry(fleet)["rollout_failed"] == "the cutover command exited 3"
    assert files_holding(fleet.folder, CANARY, API_KEY) == [str(leak)]  # not state, journal
    assert mutated(fleet.server).get(blue, 0) == 0
