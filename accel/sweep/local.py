"""Local worker processes: this process and `workers - 1` forked (or forkserver) processes on
this machine, each receiving the sweep's context once and then chunks of points from its own
queue (`accel.sweep.schedule.Dispatcher`), sending back each chunk's records; a thread of this
process feeds them while it simulates its own points.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import os
import queue
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from accel.errors import InputError
from accel.sweep.evaluate import SweepContext, simulate_chunk, simulate_point
from accel.sweep.schedule import Chunk, Dispatcher
from accel.sweep.store import table_writer

_PARENT_POLL_S = 1.0
_STOP_POLL_S = 0.05  # how soon the feeder thread notices that the sweep stopped early
_Context = multiprocessing.context.ForkContext | multiprocessing.context.ForkServerContext
_IN_FLIGHT = 2  # chunks sent ahead to a worker process while whole groups are left
_SWITCH_S = 0.001  # the feeder thread waits at most this long for the GIL (Python's default: 5 ms)


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
        # Told to exit after a finished run, not yet waited for: a worker's exit (its heap
        # unmapped: ~10 ms) overlaps the table's writing instead of preceding it (`close`).
        self._ending: list[_WorkerProcess] = []
        self.table_writer: str | None = None  # the results table's writer, from a worker

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
                self.table_writer = process.table_writer() or self.table_writer
                process.send(context)
            yield from _dispatch(context, dispatcher, processes)
            finished = True
        finally:
            for process in processes:
                process.stop(finished)
            self._ending.extend(processes)

    def close(self) -> None:
        """Stop worker processes that no run used, and wait for those told to exit."""
        for process in self._processes:
            process.stop(True)
        for process in (*self._processes, *self._ending):
            process.reap()
        self._processes, self._ending = [], []


class _WorkerProcess:
    """One worker process and the pipe to it: it receives the context, then chunks, and sends
    back each chunk's records. A forked one first sends the results table's writer
    (`accel.sweep.store.table_writer`), worked out while this process plans the sweep: the
    same answer as this process's (it is this process, forked), off the sweep's serial end."""

    def __init__(self, context: _Context) -> None:
        self.connection, theirs = context.Pipe()
        self.forked = context.get_start_method() == "fork"
        self.process = context.Process(
            target=_worker_main, args=(theirs, os.getpid(), self.forked), daemon=True
        )
        self.process.start()
        theirs.close()
        self.in_flight = 0

    def table_writer(self) -> str | None:
        """What a forked worker sent first (None if it could not tell, or was not forked)."""
        if not self.forked:
            return None
        try:
            writer: str | None = self.connection.recv()
        except (EOFError, OSError):
            raise self._ended() from None
        return writer

    def send(self, message: object) -> None:
        try:
            self.connection.send(message)
        except OSError:  # a broken pipe: it died before taking it
            raise self._ended() from None

    def receive(self) -> list[dict[str, Any]]:
        try:
            records: list[dict[str, Any]] = self.connection.recv()
        except (EOFError, OSError):
            raise self._ended() from None
        self.in_flight -= 1
        return records

    def _ended(self) -> RuntimeError:
        self.process.join(_PARENT_POLL_S)  # its pipe closes as it exits: wait for its code
        code = self.process.exitcode
        return RuntimeError(f"a sweep worker process ended unexpectedly (exit code {code})")

    def stop(self, finished: bool) -> None:
        """Tell it to exit after its chunks (a finished run: `reap` waits for it), else end
        it now (a failed or interrupted one, whose points in flight are run again on resume)."""
        if finished:
            with contextlib.suppress(OSError):  # it may have gone already
                self.connection.send(None)
            return
        self.reap(timeout=0)

    def reap(self, timeout: float = 10) -> None:
        """Wait up to `timeout` for it to exit, then end it."""
        self.process.join(timeout)
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


def _worker_main(
    connection: multiprocessing.connection.Connection, parent_pid: int, forked: bool
) -> None:
    """A worker process: (forked) the table's writer sent, then the sweep's context received,
    then chunks until None."""
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    if forked:
        try:
            writer: str | None = table_writer()
        except Exception:  # the sweep's process works it out itself, and says what failed
            writer = None
        connection.send(writer)
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
    """Simulate this process's own queue while a thread (`_Feeder`) keeps the worker processes
    fed and collects their records; yield what finished, between this process's points too."""
    feeder = _Feeder(dispatcher, processes)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(_SWITCH_S)
    try:
        while (chunk := feeder.next_own()) is not None:
            if context.analytic:  # fast points, counted together
                yield simulate_chunk(context, chunk.points)
                yield from feeder.finished(block=False)
                continue
            own = []
            for point in chunk.points:
                own.append(simulate_point(context, point))
                yield from feeder.finished(block=False)
            yield own
        yield from feeder.finished(block=True)
    finally:
        sys.setswitchinterval(switch)
        feeder.stop()


class _Feeder:
    """A thread that sends each worker process its next chunk as soon as it returns one (this
    process is busy simulating its own points: fed between them, a worker would wait up to a
    point's time for its next chunk) and queues the records it receives.

    While whole groups are left it keeps `_IN_FLIGHT` chunks at a worker, so a worker never
    waits for the thread; once every group is taken, one: the chunks no worker has started
    stay in the queues (`Dispatcher`), where an idle worker can take them. The dispatcher is
    shared with this process's own loop, under a lock."""

    def __init__(self, dispatcher: Dispatcher, processes: Sequence[_WorkerProcess]) -> None:
        self.dispatcher = dispatcher
        self.processes = processes
        self.lock = threading.Lock()
        self.results: queue.SimpleQueue[list[dict[str, Any]] | BaseException | None] = (
            queue.SimpleQueue()
        )
        self.done = not processes
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="accel-sweep-feeder", daemon=True)
        if processes:
            self.thread.start()

    def next_own(self) -> Chunk | None:
        with self.lock:
            return self.dispatcher.next(0)

    def finished(self, block: bool) -> Iterator[list[dict[str, Any]]]:
        """The records that arrived (with `block`, every one until the workers are done)."""
        while not self.done:
            try:
                item = self.results.get(block=block)
            except queue.Empty:
                return
            if isinstance(item, BaseException):
                self.done = True
                raise item
            if item is None:
                self.done = True
                return
            yield item

    def stop(self) -> None:
        self._stopping.set()
        if self.thread.is_alive():
            self.thread.join()

    def _run(self) -> None:
        try:
            workers: dict[object, tuple[int, _WorkerProcess]] = {
                p.connection: (w, p) for w, p in enumerate(self.processes, start=1)
            }
            for worker, process in workers.values():
                self._fill(worker, process)
            while not self._stopping.is_set():
                busy = [p.connection for p in self.processes if p.in_flight]
                if not busy:
                    break
                for connection in multiprocessing.connection.wait(busy, _STOP_POLL_S):
                    worker, process = workers[connection]
                    records = process.receive()
                    self._fill(worker, process)  # its next chunk first, then the records
                    self.results.put(records)
            self.results.put(None)
        except BaseException as err:  # raised again in the sweep's own thread
            self.results.put(err)

    def _fill(self, worker: int, process: _WorkerProcess) -> None:
        while True:
            with self.lock:
                ahead = _IN_FLIGHT if self.dispatcher.pool else 1
                if process.in_flight >= ahead:
                    return
                chunk = self.dispatcher.next(worker)
            if chunk is None:
                return
            process.send(chunk.points)
            process.in_flight += 1
