"""Local worker processes: the feeder thread keeps them busy, leaves the tail of the sweep in the
queues where an idle worker can take it, and brings a dead worker's failure to the sweep."""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from accel.sweep import local
from accel.sweep.plan import Point, load_plan
from accel.sweep.runner import run_sweep
from accel.sweep.schedule import Chunk, Dispatcher, chunk_points

LAYERS = {"lenet5": 10}


def grid(**axes: list[object]) -> list[Point]:
    combos = itertools.product(*([(name, v) for v in values] for name, values in axes.items()))
    return [Point(i, f"p{i}", "lenet5", 1, tuple(combo)) for i, combo in enumerate(combos)]


class LoggedDispatcher(Dispatcher):
    """A dispatcher that notes how many whole groups were left when a worker last asked."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.asked: dict[int, int] = {}

    def next(self, worker: int) -> Chunk | None:
        self.asked[worker] = len(self.pool)
        return super().next(worker)


class FakeWorker:
    """A worker process's stand-in: a thread that answers each chunk with one record per point,
    and a log of (chunks it held unfinished, whole groups left) at each chunk it was sent."""

    def __init__(self, dispatcher: LoggedDispatcher, worker: int) -> None:
        self.connection, theirs = multiprocessing.Pipe()
        self.in_flight = 0
        self.dispatcher, self.worker = dispatcher, worker
        self.sent: list[tuple[int, int]] = []
        threading.Thread(target=self._serve, args=(theirs,), daemon=True).start()

    @staticmethod
    def _serve(connection: Any) -> None:
        with contextlib.suppress(EOFError, OSError):
            while (points := connection.recv()) is not None:
                time.sleep(0.002)
                connection.send([{"id": point.point_id} for point in points])

    def send(self, points: object) -> None:
        self.sent.append((self.in_flight, self.dispatcher.asked[self.worker]))
        self.connection.send(points)

    def receive(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self.connection.recv()
        self.in_flight -= 1
        return records


def test_the_feeder_sends_one_chunk_ahead_only_while_whole_groups_are_left() -> None:
    points = grid(**{"array.rows": [8, 16, 32, 64, 128, 256], "sram.ifmap.size_kib": [32, 64],
                     "dram.bandwidth_bytes_per_cycle": [4, 8, 16, 32]})  # fmt: skip
    dispatcher = LoggedDispatcher(chunk_points(points, LAYERS, parallelism=3), 3)
    workers = [FakeWorker(dispatcher, 1), FakeWorker(dispatcher, 2)]
    feeder = local._Feeder(dispatcher, workers)  # type: ignore[arg-type]
    own = []
    while (chunk := feeder.next_own()) is not None:  # this process: slower than its workers
        time.sleep(0.01)
        own += [point.point_id for point in chunk.points]
    records = [record for chunk in feeder.finished(block=True) for record in chunk]
    feeder.stop()
    assert sorted(own + [record["id"] for record in records]) == sorted(p.point_id for p in points)
    for worker in workers:
        worker.connection.send(None)
    sent = [entry for worker in workers for entry in worker.sent]
    assert max(held for held, _ in sent) == local._IN_FLIGHT - 1
    assert all(held == 0 for held, groups in sent if groups == 0)  # the tail: nothing ahead
    assert any(groups == 0 for _, groups in sent)


class Dies:
    """Unpickled, it ends the process: a worker receiving it in the sweep's context dies."""

    layers = ()  # a network of no layers, to the planner

    def __reduce__(self) -> tuple[object, tuple[int]]:
        return os._exit, (3,)


def test_a_worker_that_dies_ends_the_sweep_with_its_exit_code(write_yaml, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = load_plan(write_yaml("name: a\nnetworks: [lenet5]\ngrid: {array.rows: [8, 16, 32, 64]}\n"))
    poisoned = plan._replace(networks={**plan.networks, "dies": Dies()})
    with pytest.raises(RuntimeError, match=r"^a sweep worker process ended unexpectedly \(exit code 3\)$"):
        run_sweep(poisoned, tmp_path / "out", local.LocalExecutor(2))
    assert not (tmp_path / "out" / "results.csv").exists()
