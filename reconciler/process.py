"""Process-wide memory switches of glibc's malloc (Linux only; elsewhere, nothing to do).

Set at process start (entry.py) or between the agent's cycles, never from a library call: they
change how the whole process allocates."""

from __future__ import annotations

import sys


def _libc_function(name: str) -> object | None:
    import ctypes

    if not sys.platform.startswith("linux"):
        return None
    try:
        function: object = getattr(ctypes.CDLL(None), name)
        return function
    except (OSError, AttributeError):  # musl has no malloc_trim; not glibc at all
        return None


def one_malloc_arena() -> None:
    """glibc gives each new thread its own malloc arena; the state parsed on a background
    thread then grows a second heap beside the main one instead of reusing what the manifest
    parsing freed (+28 MB peak at 10,000 deployments). The threads take turns on the GIL, so
    sharing one arena costs no speed. Before any thread starts; not for --help (ctypes costs
    ~5 ms)."""
    mallopt = _libc_function("mallopt")
    if callable(mallopt):
        mallopt(-8, 1)  # M_ARENA_MAX (malloc.h): applies to threads started from now on


def release_free_heap() -> None:
    """Collect what a cycle left in reference cycles, then give the heap pages it freed back to
    the system (glibc keeps them otherwise): a long-running agent that parses every manifest
    each cycle would hold the high-water mark of its fragmented heap (bench/agent_bench.py: RSS
    by cycle). The collection is a full one: planning moves its objects, garbage included, to
    the oldest generation unscanned (gc_on_after_quiet_phase), where only a full collection
    looks, and it resets the young count, so between cycles the GC might otherwise never run."""
    import gc

    gc.collect()
    trim = _libc_function("malloc_trim")
    if callable(trim):
        trim(0)


def gc_on_after_quiet_phase() -> None:
    """Switch the cyclic GC back on after a phase that ran without it (start-up, planning),
    whose objects are long-lived: they go to the oldest generation unscanned (freeze, then
    unfreeze) instead of being scanned all at once by the first young collection (55 ms after
    planning 10,000 deployments). Nothing when the GC is already on."""
    import gc

    if not gc.isenabled():
        gc.freeze()
        gc.unfreeze()
        gc.enable()
