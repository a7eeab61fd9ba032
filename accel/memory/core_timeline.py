"""The cores' event schedule: tasks on cores sharing one DRAM channel over an on-chip network.

A multi-core run is a list of `CoreTask`s, each a piece of a layer (or of one image's layer) on
one core, after the tasks it names in `after`. Every core plays its tasks in order, each cut
into `chunks` equal chunks that run as the single-core pipeline does (`replay.py`), coarser:

- the core's DMA queue works through its transfers in program order: chunk 0 and 1 loads, then
  per chunk the write-back of its outputs and the load of chunk + 2; a load needs a free buffer
  half (two per core: a chunk frees its half when it has computed) and the task's inputs done;
- a chunk computes when its data has landed and the previous chunk has computed;
- a DRAM transfer of `b` bytes holds the shared channel for max(the channel's burst-rounded
  cycles, ceil(b / NoC link bandwidth)) (the data crosses the controller and the NoC at the pace of
  the slower); read data lands after the DRAM latency plus one hop latency per hop to the core;
- a core-to-core transfer (`peer_bytes`, a pipelined activation) takes ceil(b / link bandwidth)
  and lands after its hops; on a bus it holds the shared channel too (the bus is one medium).

The channel is arbitrated oldest request first, ties to the lower core: whenever it is free, the
waiting transfer with the earliest request time gets it. `run_cores` computes this as a
recurrence: each core advances until its next transfer, and the core whose next request is the
earliest (then the lowest index) is served. Requests are served in nondecreasing time, so this
is exact; `tests/test_core_timeline.py` checks it against the simpy model in
`accel/oracles/core_pipeline.py`, which is built from processes and an arbiter instead.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from accel.config import ChipConfig
from accel.memory.core_split import shares
from accel.memory.replay import transfer_cycles


@dataclass(frozen=True)
class CoreTask:
    """One core's piece of work: compute, DRAM and NoC bytes, and what it waits for."""

    core: int
    layer: int  # index of the layer in the network
    compute_cycles: int
    dram_read_bytes: int
    dram_write_bytes: int
    peer_bytes: int = 0  # activations received from other cores over the NoC
    peer_hops: int = 0  # the longest route they take
    chunks: int = 1
    after: tuple[int, ...] = ()  # indices of tasks that must finish first
    macs: int = 0
    image: int = -1  # the image of a pipelined task; -1: every image of the batch


@dataclass(frozen=True)
class Transfer:
    """One transfer of a core's DMA queue; `chunk` is the chunk whose load (or write) it is."""

    task: int
    chunk: int
    kind: str  # "load" (DRAM read), "peer" (core to core) or "write" (DRAM write)
    size_bytes: int


@dataclass(frozen=True)
class CoreSchedule:
    """Each task's start (first compute or transfer) and finish, and the cores' busy cycles."""

    starts: tuple[int, ...]
    finishes: tuple[int, ...]
    busy_cycles: tuple[int, ...]  # compute cycles per core
    channel_busy_cycles: int  # cycles the shared DRAM channel (or bus) was held

    @property
    def total_cycles(self) -> int:
        return max(self.finishes, default=0)


def hops_to_controller(core: int, core_count: int, topology: str) -> int:
    """Hops from the DRAM controller (beside core 0's router) to `core`'s router."""
    if topology == "bus":
        return 1
    columns = math.ceil(math.sqrt(core_count))
    row, column = divmod(core, columns)
    return row + column + 1


def hops_between(source: int, target: int, core_count: int, topology: str) -> int:
    """Hops of a core-to-core route (XY on the mesh)."""
    if topology == "bus":
        return 1
    columns = math.ceil(math.sqrt(core_count))
    (row_a, col_a), (row_b, col_b) = divmod(source, columns), divmod(target, columns)
    return abs(row_a - row_b) + abs(col_a - col_b)


@dataclass
class _Core:
    """A core's progress through its program."""

    tasks: deque[int]
    program: deque[Transfer]
    halves: deque[int]
    dma_free: int = 0
    compute_end: int = 0
    ready: dict[int, int] | None = None  # chunk → time its data has landed
    computed: int = 0  # chunks of the current task computed
    ends: dict[int, int] | None = None  # chunk → time it computed
    current: int = -1  # the task being played


class _Run:
    """State of `run_cores`: the cores, the shared channel and every task's times."""

    def __init__(self, tasks: Sequence[CoreTask], core_count: int, chip: ChipConfig) -> None:
        self.tasks, self.chip = tasks, chip
        self.count = core_count
        noc = chip.noc
        self.link = noc.bandwidth_bytes_per_cycle or chip.dram.bandwidth_bytes_per_cycle
        self.bus = noc.topology == "bus"
        self.channel_free = self.channel_busy = 0
        self.finished = 0  # tasks finished so far
        self.starts = [-1] * len(tasks)
        self.finishes = [-1] * len(tasks)
        self.busy = [0] * core_count
        self.cores = [
            _Core(deque(i for i, task in enumerate(tasks) if task.core == core), deque(),
                  deque([0, 0]))
            for core in range(core_count)
        ]  # fmt: skip

    def deps_done(self, index: int) -> int | None:
        """When every task `index` waits for has finished; None while one is still running."""
        done = 0
        for before in self.tasks[index].after:
            finish = self.finishes[before]
            if finish < 0:
                return None
            done = max(done, finish)
        return done

    def duration(self, transfer: Transfer) -> tuple[int, bool]:
        """(cycles, holds the shared channel)."""
        link = math.ceil(transfer.size_bytes / self.link) if math.isfinite(self.link) else 0
        if transfer.kind == "peer":
            return link, self.bus
        return max(transfer_cycles(transfer.size_bytes, self.chip.dram), link), True

    def latency(self, core: int, transfer: Transfer) -> int:
        hop = self.chip.noc.hop_latency_cycles
        task = self.tasks[transfer.task]
        if transfer.kind == "peer":
            return task.peer_hops * hop
        return self.chip.dram.latency_cycles + hops_to_controller(
            core, self.count, self.chip.noc.topology) * hop  # fmt: skip


def run_cores(tasks: Sequence[CoreTask], core_count: int, chip: ChipConfig) -> CoreSchedule:
    """Play every core's tasks against one shared channel; each task's start and finish."""
    run = _Run(tasks, core_count, chip)
    while True:
        finished = -1
        while finished != run.finished:  # a task finished: a core that waited for it may go on
            finished, heads = run.finished, []
            for index, core in enumerate(run.cores):
                request = _advance(run, index, core)
                if request is not None:
                    heads.append((request, index))
        if not heads:
            break
        request, index = min(heads)
        _serve(run, index, run.cores[index], request)
    if any(finish < 0 for finish in run.finishes):
        raise RuntimeError("multi-core schedule deadlocked: a task waits for a later one")
    return CoreSchedule(tuple(run.starts), tuple(run.finishes), tuple(run.busy),
                        run.channel_busy)  # fmt: skip


def _program(task: CoreTask, index: int) -> deque[Transfer]:
    """The DMA queue of one task: loads of chunks 0 and 1, then per chunk its write-back and
    the load of chunk + 2."""
    reads = shares_of(task.dram_read_bytes, task.chunks)
    peers = shares_of(task.peer_bytes, task.chunks)
    writes = shares_of(task.dram_write_bytes, task.chunks)

    def load(chunk: int) -> list[Transfer]:
        return [Transfer(index, chunk, kind, size) for kind, size in
                (("load", reads[chunk]), ("peer", peers[chunk])) if size]  # fmt: skip

    program: list[Transfer] = []
    for chunk in range(min(2, task.chunks)):
        program += load(chunk)
    for chunk in range(task.chunks):
        if writes[chunk]:
            program.append(Transfer(index, chunk, "write", writes[chunk]))
        if chunk + 2 < task.chunks:
            program += load(chunk + 2)
    return deque(program)


def shares_of(total: int, chunks: int) -> list[int]:
    """`total` over `chunks` chunks, near-equal, zeros when there is less than one per chunk."""
    if total >= chunks:
        return shares(total, chunks)
    return [1] * total + [0] * (chunks - total)


def _advance(run: _Run, index: int, core: _Core) -> int | None:
    """Compute what needs no transfer; return the core's next request time (None: finished, or
    waiting for another core's task)."""
    while True:
        if core.current < 0:
            if not core.tasks:
                return None
            core.current = core.tasks[0]
            core.program = _program(run.tasks[core.current], core.current)
            core.ready, core.ends, core.computed = {}, {}, 0
        task_index, task = core.current, run.tasks[core.current]
        done = run.deps_done(task_index)
        if done is None:
            return None
        while core.computed < task.chunks and _loads_served(core, core.computed):
            _compute(run, core, task_index, task, done)
        if core.program:
            return _request(core, core.program[0], done)
        run.finishes[task_index] = max(core.compute_end, core.dma_free, done)
        if run.starts[task_index] < 0:
            run.starts[task_index] = run.finishes[task_index]
        core.tasks.popleft()
        core.current = -1
        run.finished += 1


def _loads_served(core: _Core, chunk: int) -> bool:
    """True when every load of `chunk` is out of the DMA queue (the queue holds the loads of
    chunk + 1 before the write-back of `chunk`)."""
    if not core.program:
        return True
    head = core.program[0]
    return chunk <= head.chunk + 1 if head.kind == "write" else chunk < head.chunk


def _compute(run: _Run, core: _Core, index: int, task: CoreTask, done: int) -> None:
    chunk = core.computed
    assert core.ready is not None
    start = max(core.compute_end, core.ready.get(chunk, 0), done)
    cycles = shares_of(task.compute_cycles, task.chunks)[chunk]
    if run.starts[index] < 0:
        run.starts[index] = start
    core.compute_end = start + cycles
    assert core.ends is not None
    core.ends[chunk] = core.compute_end
    if chunk in core.ready:  # the chunk's buffer half is free again
        core.halves.append(core.compute_end)
    run.busy[task.core] += cycles
    core.computed += 1


def _request(core: _Core, head: Transfer, done: int) -> int:
    """When the head transfer asks for the channel: after the core's previous transfer and the
    task's inputs; a write-back after its chunk computed; a chunk's first load when a buffer
    half is free."""
    request = max(core.dma_free, done)
    assert core.ready is not None and core.ends is not None
    if head.kind == "write":
        return max(request, core.ends[head.chunk])
    if head.chunk not in core.ready:
        request = max(request, core.halves[0])
    return request


def _serve(run: _Run, index: int, core: _Core, request: int) -> None:
    head = core.program.popleft()
    cycles, shared = run.duration(head)
    start = max(request, run.channel_free) if shared else request
    end = start + cycles
    if shared:
        run.channel_free = end
        run.channel_busy += cycles
    core.dma_free = end
    if run.starts[head.task] < 0:
        run.starts[head.task] = start
    if head.kind == "write":
        return
    assert core.ready is not None
    if head.chunk not in core.ready:
        core.halves.popleft()
    landed = end + run.latency(index, head)
    core.ready[head.chunk] = max(core.ready.get(head.chunk, 0), landed)
