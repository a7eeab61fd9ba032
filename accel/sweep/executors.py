"""Where the points of a sweep are simulated: in this process, in local worker processes, or on a
Dask distributed cluster.

Each executor receives the sweep's context (base chip and loaded networks) once per worker, not
once per point, and then chunks of points (`accel.sweep.schedule`: each inside one group of
points that share tilings); it yields finished chunks' results as soon as they are done, in any
order. The runner journals and orders them, so the table is the same whichever executor ran it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import os
import sys
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
from accel.sweep.analytic import analytic_key, analytic_summaries, vectorizable
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
    chip, record = _chip_record(context, point)
    if chip is None:
        return record
    try:
        network = context.networks[point.network]
        if context.analytic:
            summary = simulate_analytic(network, chip, point.batch)
        else:
            summary = simulate_network(network, chip, point.batch).summary()
    except Exception as err:
        return _failed(record, err)
    return _with_metrics(record, summary)


def _chip_record(context: SweepContext, point: Point) -> tuple[ChipConfig | None, dict[str, Any]]:
    """The point's chip (None if it is not a valid chip) and its record so far."""
    record: dict[str, Any] = {"id": point.point_id, "status": "ok", "error": ""}
    try:
        chip = context.chip.with_values(dict(point.values)) if point.values else context.chip
        record["pe_count"] = chip.array.pe_count
        record["sram_bytes"] = chip.sram.total_bytes
        record["area_mm2"] = chip_area(chip).total_mm2
    except Exception as err:
        return None, _failed(record, err)
    return chip, record


def _failed(record: dict[str, Any], err: Exception) -> dict[str, Any]:
    if isinstance(err, InputError):
        return {**record, "status": "error", "error": str(err)}
    # a model bug on one point must not stop thousands of others
    message = f"internal error: {type(err).__name__}: {err}"
    return {**record, "status": "error", "error": message}


def _with_metrics(record: dict[str, Any], summary: Mapping[str, Any]) -> dict[str, Any]:
    numeric = {
        key: value
        for key, value in summary.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    return {**record, "metrics": numeric}


def simulate_chunk(context: SweepContext, points: Sequence[Point]) -> list[dict[str, Any]]:
    if context.analytic:
        return _analytic_chunk(context, points)
    return [simulate_point(context, point) for point in points]


def _analytic_chunk(context: SweepContext, points: Sequence[Point]) -> list[dict[str, Any]]:
    """Records of an analytic sweep's points, each group that differs only in the array's
    shape (`analytic_key`) counted at once; a group that cannot be goes point by point."""
    records: dict[str, dict[str, Any]] = {}
    groups: dict[tuple[object, ...], list[tuple[Point, ChipConfig]]] = {}
    for point in points:
        chip, record = _chip_record(context, point)
        records[point.point_id] = record
        if chip is not None:
            groups.setdefault(analytic_key(point), []).append((point, chip))
    for group in groups.values():
        point, chip = group[0]
        summaries = None
        if vectorizable(chip):
            try:
                network = context.networks[point.network]
                summaries = analytic_summaries(network, point.batch, [c for _, c in group])
            except Exception:  # each point then fails on its own, with its own message
                pass
        for index, (point, _) in enumerate(group):
            records[point.point_id] = (
                _with_metrics(records[point.point_id], summaries[index])
                if summaries is not None
                else simulate_point(context, point)
            )
    return [records[point.point_id] for point in points]


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


_PARENT_POLL_S = 1.0
_Context = multiprocessing.context.ForkContext | multiprocessing.context.ForkServerContext
_IN_FLIGHT = 3  # chunks queued per worker process, so it never waits for this process


class LocalExecutor:
    """This process and `workers - 1` worker processes on this machine, each receiving the
    context once. Each has its own queue of chunks (`Dispatcher`): points that share tilings
    stay on one process, and an idle one takes work from the busiest queue.

    The worker processes start when the executor is made. In a process with one thread (the
    CLI makes its executor before planning the sweep and before the progress bar's thread)
    they are forked: they start at once with everything imported. Elsewhere (a notebook's
    threads) they come from a forkserver, since forking a threaded process can deadlock the
    child; the server imports accel once.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise InputError(f"workers must be >= 1, not {workers!r}")
        self.workers = workers
        self._processes = _start_workers(workers - 1)

    @property
    def parallelism(self) -> int:
        return self.workers

    def run(
        self, context: SweepContext, chunks: Sequence[Chunk]
    ) -> Iterator[list[dict[str, Any]]]:
        processes = self._processes or _start_workers(self.workers - 1)
        self._processes = []
        dispatcher = Dispatcher(chunks, self.workers)
        finished = False
        try:
            for process in processes:
                process.send(context)
            yield from _dispatch(context, dispatcher, processes)
            finished = True
        finally:
            for process in processes:
                process.stop(finished)

    def close(self) -> None:
        """Stop worker processes that no run used."""
        for process in self._processes:
            process.stop(True)
        self._processes = []


class _WorkerProcess:
    """One worker process and the pipe to it: it receives the context, then chunks, and sends
    back each chunk's records."""

    def __init__(self, context: _Context) -> None:
        self.connection, theirs = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(theirs, os.getpid()), daemon=True
        )
        self.process.start()
        theirs.close()
        self.in_flight = 0

    def send(self, message: object) -> None:
        self.connection.send(message)

    def receive(self) -> list[dict[str, Any]]:
        try:
            records: list[dict[str, Any]] = self.connection.recv()
        except (EOFError, OSError):
            code = self.process.exitcode
            message = f"a sweep worker process ended unexpectedly (exit code {code})"
            raise RuntimeError(message) from None
        self.in_flight -= 1
        return records

    def stop(self, finished: bool) -> None:
        """Let it exit after its chunks (a finished run), else end it now (a failed or
        interrupted one, whose points in flight are run again on resume)."""
        if finished:
            with contextlib.suppress(OSError):  # it may have gone already
                self.connection.send(None)
            self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        self.connection.close()


def _start_workers(count: int) -> list[_WorkerProcess]:
    if count < 1:
        return []
    if sys.platform == "linux" and threading.active_count() == 1:
        return [_WorkerProcess(multiprocessing.get_context("fork")) for _ in range(count)]
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["accel.sweep.executors"])
    return [_WorkerProcess(context) for _ in range(count)]


def _worker_main(connection: multiprocessing.connection.Connection, parent_pid: int) -> None:
    """A worker process: the sweep's context first, then chunks until None."""
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    context: SweepContext = connection.recv()
    while (points := connection.recv()) is not None:
        connection.send(simulate_chunk(context, points))


def _exit_with_parent(parent_pid: int) -> None:
    """A worker whose sweep process was killed (SIGKILL cannot be caught) exits too, instead of
    waiting forever on a pipe no one will fill."""
    while True:
        time.sleep(_PARENT_POLL_S)
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(1)


def _dispatch(
    context: SweepContext, dispatcher: Dispatcher, processes: Sequence[_WorkerProcess]
) -> Iterator[list[dict[str, Any]]]:
    """Keep every worker process `_IN_FLIGHT` chunks ahead, simulate this process's own queue
    meanwhile (feeding the workers between its points, not only between its chunks: one point
    on a new array can outlast a worker's chunks), and yield what finished."""
    by_connection: dict[object, _WorkerProcess] = {p.connection: p for p in processes}

    def feed() -> None:
        for worker, process in enumerate(processes, start=1):
            while process.in_flight < _IN_FLIGHT:
                chunk = dispatcher.next(worker)
                if chunk is None:
                    break
                process.send(chunk.points)
                process.in_flight += 1

    def finished(block: bool) -> list[dict[str, Any]]:
        busy = [process.connection for process in processes if process.in_flight]
        ready = multiprocessing.connection.wait(busy, None if block else 0) if busy else []
        return [record for done in ready for record in by_connection[done].receive()]

    while True:
        feed()
        if records := finished(block=False):
            yield records
            continue
        chunk = dispatcher.next(0)
        if chunk is None:
            if not any(process.in_flight for process in processes):
                return
            yield finished(block=True)
        elif context.analytic:  # fast points, counted together
            yield simulate_chunk(context, chunk.points)
        else:
            own = []
            for point in chunk.points:
                own.append(simulate_point(context, point))
                feed()
                if records := finished(block=False):
                    yield records
            yield own


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
