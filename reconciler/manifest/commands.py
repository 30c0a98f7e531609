"""Where a cutover command (lifecycle.cutover.command) runs from.

A relative program (``./deploy/switch.sh``, ``bin/switch``) is the project's: it resolves
against the project folder (the folder of yottactl.yaml), else the manifest's folder, never
against wherever apply happens to run, and must stay inside that folder (no ``../``, no link
leading out: the manifest is a file a pull request can edit). It must exist and be executable,
which `validate` and `plan` check, so a typo fails before a new deployment is made and awaited.
A bare name (``sh``, ``kubectl``) is looked up in PATH when it runs; an absolute path is used
as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["resolve_program"]


def resolve_program(program: str, base: Path) -> tuple[str, tuple[str, str] | None]:
    """(the program to run, None) or (``program``, (problem, hint)) for a relative path."""
    if os.sep not in program and (os.altsep is None or os.altsep not in program):
        return program, None  # a bare name: PATH's
    if os.path.isabs(program):
        return program, None
    root = base.resolve()
    target = (root / program).resolve()
    where = f"the project folder {root}"
    if not target.is_relative_to(root):
        return program, (f"the cutover command {program!r} leads outside {where} "
                         f"(to {target})",
                         "keep the script inside the project, or give an absolute path")
    if not target.is_file():
        return program, (f"the cutover command {program!r} does not exist in {where}",
                         "a relative command resolves against the folder of yottactl.yaml "
                         "(else the manifest's folder), not the current one")
    if not os.access(target, os.X_OK):
        return program, (f"the cutover command {program!r} is not executable",
                         f"chmod +x {program} (and commit the mode)")
    return str(target), None
