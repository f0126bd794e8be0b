"""Pause Python's cyclic garbage collector while an analysis builds its many small objects.

The why-layer allocates millions of short-lived, acyclic objects (term sets, tuples, event
records) while the caller holds hundreds of thousands of posts: every generation-2 collection
then walks all of them, for nothing. On bench/bench_why.py's 100,000-post window the
collector took 2.5 of 21 CPU-seconds. Reference counting still frees everything at once; only
cycles wait, until the collector runs again after the call.

Nesting and threads: the collector is paused while any paused call runs and resumes when the
last one returns, if it was enabled when the first one started.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["gc_paused"]

P = ParamSpec("P")
R = TypeVar("R")

_LOCK = threading.Lock()
_DEPTH = 0
_WAS_ENABLED = False


def gc_paused(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate ``fn`` so that the cyclic collector is paused while it runs.

    >>> @gc_paused
    ... def f():
    ...     return gc.isenabled()
    >>> f(), gc.isenabled()
    (False, True)
    """

    @functools.wraps(fn)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        global _DEPTH, _WAS_ENABLED
        with _LOCK:
            if _DEPTH == 0:
                _WAS_ENABLED = gc.isenabled()
                gc.disable()
            _DEPTH += 1
        try:
            return fn(*args, **kwargs)
        finally:
            with _LOCK:
                _DEPTH -= 1
                if _DEPTH == 0 and _WAS_ENABLED:
                    gc.enable()

    return paused
