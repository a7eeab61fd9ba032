"""Cyclic garbage collection paused while a simulation runs.

A cold simulation allocates hundreds of thousands of small tuples, dicts and records, most of
them kept in the memory model's memos; CPython's collector, run every 700 allocations and
walking ever older generations, spends time on objects that are not garbage (the 12 zoo
networks in one process: `python benchmarks/cli_startup.py`). The simulation makes little
cyclic garbage, so `paused` turns automatic collection off for the outermost call and back on
when the last call in any thread returns: garbage a call leaves is collected at the next
collection after it, and results cannot depend on it. A caller that turned collection off
itself keeps it off.
"""

from __future__ import annotations

import _thread
import gc
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

# `_thread`'s lock, not `threading`'s: a plain run never imports threading (`accel.cli.run`).
_LOCK = _thread.allocate_lock()
_state = {"depth": 0, "paused": False}  # calls running, in every thread; whether we paused


def paused(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """`function` with automatic garbage collection off while it (or any other paused call)
    runs."""

    @wraps(function)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        _enter()
        try:
            return function(*args, **kwargs)
        finally:
            _leave()

    return call


def _enter() -> None:
    with _LOCK:
        if _state["depth"] == 0 and gc.isenabled():
            gc.disable()
            _state["paused"] = True
        _state["depth"] += 1


def _leave() -> None:
    with _LOCK:
        _state["depth"] -= 1
        if _state["depth"] == 0 and _state["paused"]:
            _state["paused"] = False
            gc.enable()
