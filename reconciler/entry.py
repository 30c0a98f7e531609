"""The `yottactl` executable's entry point: answers `--version` before importing anything heavy.

Scripts and shell prompts call `yottactl --version` often; importing click and every command
module for it would triple its start-up time. Everything else goes to :func:`reconciler.cli.main`.
"""

from __future__ import annotations

import sys


def run() -> None:
    if sys.argv[1:] == ["--version"]:
        from reconciler import __version__

        sys.stdout.write(f"yottactl, version {__version__}\n")
        return
    from reconciler.cli import main

    main(prog_name="yottactl")  # also under `python -m reconciler`: completion uses the name


if __name__ == "__main__":
    run()
