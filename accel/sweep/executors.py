"""Where the points of a sweep are simulated: in this process, in local worker processes, or on a
Dask distributed cluster.

Each executor receives the sweep's context (base chip and loaded networks) once per worker, not
once per point, and then chunks of points (`accel.sweep.schedule`: each inside one group of
points that share tilings); it yields finished chunks' results as soon as they are done, in any
order. The runner journals and orders them, so the table is the same whichever executor ran it.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import multiprocessing.forkserver
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from accel.config import ChipConfig
from accel.errors import InputError
from accel.model.network import Network
from accel.perf.area import chip_area
from accel.simulation import simulate_analytic, simulate_network
from accel.sweep.plan import Point
from accel.sweep.schedule import Chunk, Dispatcher


@dataclass(frozen=True)
class SweepContext:
    """What every worker needs before its first point: the base chip and the networks, and
    whether the sweep asks only for metrics that need no memory model (`analytic`)."""

    chip: ChipConfig
    networks: Mapping[str, Network]
    analytic: bool = False


def simulate_point(context: SweepContext, point: Point) -> dict[str, Any]:
    """One journal record; a point that fails becomes a record with its error, never a raise."""
    record: dict[str, Any] = {"id": point.point_id, "status": "ok", "error": ""}
    try:
        chip = context.chip.with_values(dict(point.values)) if point.values else context.chip
        record["pe_count"] = chip.array.pe_count
        record["sram_bytes"] = chip.sram.total_bytes
        record["area_mm2"] = chip_area(chip).total_mm2
        network = context.networks[point.network]
        if context.analytic:
            summary = simulate_analytic(network, chip, point.batch)
        else:
            summary = simulate_network(network, chip, point.batch).summary()
    except InputError as err:
        return {**record, "status": "error", "error": str(err)}
    except Exception as err:  # a model bug on one point must not stop thousands of others
        message = f"internal error: {type(err).__name__}: {err}"
        return {**record, "status": "error", "error": message}
    numeric = {
        key: value
        for key, value in summary.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    return {**record, "metrics": numeric}


def simulate_chunk(context: SweepContext, points: Sequence[Point]) -> list[dict[str, Any]]:
    return [simulate_point(context, point) for point in points]


class Executor(Protocol):
    """Runs chunks of points and yields finished chunks' records as they come."""

    @property
    def parallelism(self) -> int: ...

    def run(
        self, context: SweepContext, chunks: Sequence[Chunk]
    ) -> Iterator[list[dict[str, Any]]]: ...


class SerialExecutor:
    """Every point in this process, one after the other (`--workers 1`)."""

    parallelism = 1

    def run(
        self, context: SweepContext, chunks: Sequence[Chunk]
    ) -> Iterator[list[dict[str, Any]]]:
        for chunk in chunks:
            yield simulate_chunk(context, chunk.points)


_WORKER_CONTEXT: SweepContext | None = None
_PARENT_POLL_S = 1.0


def _init_worker(context: SweepContext, parent_pid: int) -> None:
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = context
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()


def _exit_with_parent(parent_pid: int) -> None:
    """A worker whose sweep process was killed (SIGKILL cannot be caught) exits too, instead of
    waiting forever on a queue no one will fill."""
    while True:
        time.sleep(_PARENT_POLL_S)
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(1)


def _simulate_in_worker(points: Sequence[Point]) -> list[dict[str, Any]]:
    assert _WORKER_CONTEXT is not None, "worker started without a sweep context"
    return simulate_chunk(_WORKER_CONTEXT, points)


def _ready() -> None:
    """A first task: the worker has started and received the context."""


_IN_FLIGHT = 2  # chunks queued per worker process, so it never waits for this process


class LocalExecutor:
    """This process and `workers - 1` worker processes on this machine, each receiving the
    context once, at start. Each has its own queue of chunks (`Dispatcher`): points that share
    tilings stay on one process, and an idle one takes work from the busiest queue."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise InputError(f"workers must be >= 1, not {workers!r}")
        self.workers = workers
        # forkserver, not fork: the CLI's progress bar runs a thread, and forking a threaded
        # process can deadlock the child. The server imports accel once, starting now (while
        # this process plans the sweep); workers fork from it.
        self._context = multiprocessing.get_context("forkserver")
        if workers > 1:
            self._context.set_forkserver_preload(["accel.sweep.executors"])
            multiprocessing.forkserver.ensure_running()

    @property
    def parallelism(self) -> int:
        return self.workers

    def run(
        self, context: SweepContext, chunks: Sequence[Chunk]
    ) -> Iterator[list[dict[str, Any]]]:
        dispatcher = Dispatcher(chunks, self.workers)
        context_for_workers = self._context
        pools = [
            concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=context_for_workers,
                initializer=_init_worker, initargs=(context, os.getpid()),
            )
            for _ in range(self.workers - 1)
        ]  # fmt: skip
        # Starting a worker waits for the server's imports: this process simulates meanwhile.
        starter = _Starter(pools)
        try:
            yield from _dispatch(context, dispatcher, pools, starter)
        finally:
            starter.join()
            for pool in pools:
                pool.shutdown(wait=True, cancel_futures=True)


class _Starter(threading.Thread):
    """Starts each worker process in the background; `started[i]` is set when worker i + 1 can
    take chunks, and a failure to start is raised by `check` in the sweep's thread."""

    def __init__(self, pools: Sequence[concurrent.futures.Executor]) -> None:
        super().__init__(daemon=True)
        self.pools = pools
        self.started = [threading.Event() for _ in pools]
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        for pool, event in zip(self.pools, self.started, strict=True):
            try:
                pool.submit(_ready)  # returns once the worker process exists
            except BaseException as err:  # re-raised by check() in the sweep's thread
                self.error = err
                return
            finally:
                event.set()

    def check(self) -> None:
        if self.error is not None:
            raise self.error


def _dispatch(
    context: SweepContext,
    dispatcher: Dispatcher,
    pools: Sequence[concurrent.futures.Executor],
    starter: _Starter,
) -> Iterator[list[dict[str, Any]]]:
    """Keep every started worker process `_IN_FLIGHT` chunks ahead, simulate this process's
    own queue between their results, and yield what finished."""
    in_flight: dict[concurrent.futures.Future[list[dict[str, Any]]], int] = {}
    while True:
        starter.check()
        for worker, pool in enumerate(pools, start=1):
            while (starter.started[worker - 1].is_set()
                   and sum(w == worker for w in in_flight.values()) < _IN_FLIGHT):  # fmt: skip
                chunk = dispatcher.next(worker)
                if chunk is None:
                    break
                in_flight[pool.submit(_simulate_in_worker, chunk.points)] = worker
        finished = [future for future in in_flight if future.done()]
        if finished:
            for future in finished:
                del in_flight[future]
            yield [record for future in finished for record in future.result()]
            continue
        chunk = dispatcher.next(0)
        if chunk is not None:
            yield simulate_chunk(context, chunk.points)
        elif in_flight:
            concurrent.futures.wait(in_flight, return_when=concurrent.futures.FIRST_COMPLETED)
        elif all(event.is_set() for event in starter.started):
            starter.check()
            return
        else:
            next(event for event in starter.started if not event.is_set()).wait()


class DaskExecutor:
    """An existing Dask distributed cluster; the context is scattered to every worker once.

    The workers must import the same version of accel as this process.
    """

    def __init__(self, scheduler: str, timeout_s: float = 10.0) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise InputError(
                "executor dask needs the dask extra: pip install 'accel-simulator[dask]'"
            ) from None
        try:
            self.client = Client(scheduler, timeout=f"{timeout_s}s", set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise InputError(
                f"scheduler must be a reachable Dask scheduler address, not {scheduler!r} ({err})"
            ) from None

    @property
    def parallelism(self) -> int:
        threads: dict[str, int] = self.client.nthreads()
        return max(1, sum(threads.values()))

    def run(
        self, context: SweepContext, chunks: Sequence[Chunk]
    ) -> Iterator[list[dict[str, Any]]]:
        from distributed import as_completed

        shared = self.client.scatter(context, broadcast=True)
        futures = [
            self.client.submit(simulate_chunk, shared, list(chunk.points), pure=False)
            for chunk in chunks
        ]
        try:
            for future in as_completed(futures, loop=self.client.loop):
                yield future.result()
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        self.client.close()
