"""Where the points of a sweep are simulated: in this process, in local worker processes
(`accel.sweep.local`), or on a Dask distributed cluster.

Each executor receives the sweep's context (base chip and loaded networks) once per worker, not
once per point, and then chunks of points (`accel.sweep.schedule`: each inside one group of
points that share tilings); it yields finished chunks' results as soon as they are done, in any
order. The runner journals and orders them, so the table is the same whichever executor ran it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from accel.errors import InputError
from accel.sweep.evaluate import SweepContext, simulate_chunk
from accel.sweep.local import LocalExecutor
from accel.sweep.schedule import Chunk

__all__ = ["DaskExecutor", "Executor", "LocalExecutor", "SerialExecutor", "SweepContext"]


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
