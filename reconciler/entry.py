"""The `yottactl` executable's entry point: answers `--version` before importing anything heavy.

Scripts and shell prompts call `yottactl --version` often; importing click and every command
module for it would triple its start-up time. Everything else goes to :func:`reconciler.cli.main`.
"""

from __future__ import annotations

import sys


def run() -> None:
    """The program: never returns while a call still runs on a daemon thread, but ends the
    process itself (see _leave_running_calls_behind); callers' `finally` blocks do not run."""
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
    except SystemExit as exc:
        _leave_running_calls_behind(exc.code)
        raise
    finally:
        # the command is over: the interpreter's shutdown would scan every object still alive
        # for garbage cycles (twice), ~10% of a 1,000-deployment plan's run time, to free memory
        # the process is about to give back anyway. Frozen objects are never scanned; objects
        # are still freed when their last reference goes.
        gc.freeze()


def _leave_running_calls_behind(code: object) -> None:
    """End at once, without the interpreter's teardown, while a daemon thread still runs a call.

    `plan` lists the deployments on a daemon thread while it reads the manifests; when the command
    fails first (a bad manifest, an unreachable state) that call may still be inside OpenSSL
    (loading the CA bundle, a handshake). C libraries' exit handlers then free what the thread is
    using, and the process died of SIGSEGV after printing its error (-11 instead of exit 1, about
    one run in three). Python's own exit handlers still run and the streams are flushed; only
    the C-level teardown, which frees memory the process is giving back anyway, is skipped."""
    import threading

    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if not others or not all(t.daemon for t in others):  # non-daemon threads: the usual join
        return
    import atexit
    import os

    if code is not None and not isinstance(code, int):  # sys.exit("message"), as Python does
        sys.stderr.write(f"{code}\n")
    atexit._run_exitfuncs()
    status = code if isinstance(code, int) else 0 if code is None else 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # its reader went away: end as a closed stdout always does
            _die_of_sigpipe()
        except (OSError, ValueError):  # output lost (a full disk): an error, not 0 or 2
            status = 1 if status in (0, 2) else status
    os._exit(status)


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
