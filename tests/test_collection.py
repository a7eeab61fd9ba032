"""Garbage collection paused during a simulation: off inside, restored after (on an error
too), nested and concurrent calls, a caller's own choice kept, and simulate_network paused."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from accel.simulation import collection


@pytest.fixture(autouse=True)
def _collection_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


@collection.paused
def _seen(inner: bool = False) -> list[bool]:
    """Whether collection was on inside, and inside a nested call."""
    seen = [gc.isenabled()]
    if inner:
        seen += _seen()
    seen.append(gc.isenabled())
    return seen


def test_collection_is_off_inside_and_back_on_after_nested_calls() -> None:
    assert _seen(inner=True) == [False, False, False, False] and gc.isenabled()


def test_an_error_restores_collection() -> None:
    @collection.paused
    def fails() -> None:
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        fails()
    assert gc.isenabled()


def test_a_caller_that_turned_collection_off_keeps_it_off() -> None:
    gc.disable()
    assert _seen() == [False, False] and not gc.isenabled()


def test_collection_comes_back_only_when_the_last_thread_returns() -> None:
    started, release = threading.Event(), threading.Event()

    @collection.paused
    def waits() -> None:
        started.set()
        release.wait(10)

    other = threading.Thread(target=waits)
    other.start()
    started.wait(10)
    assert _seen() == [False, False]
    assert not gc.isenabled()  # the other thread's call still runs
    release.set()
    other.join(10)
    assert gc.isenabled()


def test_simulate_network_runs_with_collection_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    from accel.config import ChipConfig
    from accel.io.sources import load_network
    from accel.simulation import cost

    seen: list[bool] = []
    front = cost._front

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        return front(*args, **kwargs)

    monkeypatch.setattr(cost, "_front", spy)
    result = cost.simulate_network(load_network("lenet5"), ChipConfig())
    assert seen == [False] and gc.isenabled() and result.summary()["layers"] > 0
