"""The `yottactl` executable's entry point: answers `--version` before importing anything heavy.

Scripts and shell prompts call `yottactl --version` often; importing click and every command
module for it would triple its start-up time. Everything else goes to :func:`reconciler.cli.main`.
"""

from __future__ import annotations

import sys


def run() -> None:
    if sys.argv[1:] == ["--version"]:
        from reconciler import __version__

        try:
            sys.stdout.write(f"yottactl, version {__version__}\n")
            sys.stdout.flush()
        except BrokenPipeError:
            _die_of_sigpipe()
        return
    if not {"-h", "--help"} & set(sys.argv[1:]) and sys.argv[1:]:  # a command will run
        from reconciler.process import one_malloc_arena

        one_malloc_arena()
    import gc

    # start-up (importing the CLI and the command's module: classes, functions, schemas made
    # once) makes no garbage cycles; the GC's scans of it cost ~9 ms of every command. It is
    # switched back on as the command itself starts (cli._Command.invoke)
    gc.disable()
    from reconciler.cli import StdoutClosed, main

    try:
        main(prog_name="yottactl")  # also under `python -m reconciler`: completion uses the name
    except StdoutClosed:
        _die_of_sigpipe()
    finally:
        # the command is over: the interpreter's shutdown would scan every object still alive
        # for garbage cycles (twice), ~10% of a 1,000-deployment plan's run time, to free memory
        # the process is about to give back anyway. Frozen objects are never scanned; objects
        # are still freed when their last reference goes.
        gc.freeze()


def _die_of_sigpipe() -> None:
    """End as git (or any C tool) does when its reader closes the pipe: no message, killed by
    SIGPIPE (the shell sees 141). Only here, after the command unwound: SIGPIPE's default action
    in the middle of an apply would stop it between an API call and its journal record."""
    import os
    import signal

    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):  # nothing left to flush into a closed pipe at exit
        os.dup2(devnull, stream.fileno())
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGPIPE)
    sys.exit(1)  # not reached on POSIX


if __name__ == "__main__":
    run()
