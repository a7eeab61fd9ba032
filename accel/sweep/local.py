"""Local worker processes: this process and `workers - 1` forked (or forkserver) processes on
this machine, each receiving the sweep's context once and then chunks of points from its own
queue (`accel.sweep.schedule.Dispatcher`), sending back each chunk's records.
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
from collections.abc import Iterator, Sequence
from typing import Any

from accel.errors import InputError
from accel.sweep.evaluate import SweepContext, simulate_chunk, simulate_point
from accel.sweep.schedule import Chunk, Dispatcher

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
    context.set_forkserver_preload(["accel.sweep.local"])
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
