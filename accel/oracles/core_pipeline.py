"""Cores sharing one DRAM channel, as a simpy model: the reference for `core_timeline.py`.

Per core two hardware actors, `dma` and `compute`, and per chip one `channel_arbiter`:

- `dma` works through the core's transfers in program order (chunk 0 and 1 loads, then per
  chunk its write-back and the load of chunk + 2); a chunk's first load takes a buffer-half
  token, every transfer first waits for the task's inputs (the `finished` events of the tasks it
  comes after), a write-back for its chunk's `computed` event;
- `compute` runs each chunk when its loads have landed, then gives its half back;
- `channel_arbiter` owns the shared DRAM channel (and the bus): it lets the instant settle (no
  event left at the current time), then grants the waiting request with the earliest request
  time, ties to the lower core, and holds the channel for the transfer.

A task's inputs are whatever tasks it names in `after`: the pieces of the layers before it, or,
in a band pipeline, the bands on its own core or an earlier stage's that hold the rows it reads.

Processes yield only timeouts, events, puts and gets. Test-only: no production module imports
this file.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from typing import Any

import simpy

from accel.config import ChipConfig
from accel.memory.core_timeline import CoreTask, hops_to_controller, shares_of
from accel.memory.replay import transfer_cycles

Process = Generator[Any, Any, None]


class _Channel:
    """The shared channel's waiting requests: (request time, core, cycles, grant event)."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.waiting: list[tuple[int, int, int, simpy.Event]] = []
        self.wake: simpy.Event | None = None
        self.busy_cycles = 0

    def request(self, core: int, cycles: int) -> simpy.Event:
        granted = self.env.event()
        self.waiting.append((int(self.env.now), core, cycles, granted))
        if self.wake is not None and not self.wake.triggered:
            self.wake.succeed()
        return granted


def channel_arbiter(env: simpy.Environment, channel: _Channel) -> Process:
    while True:
        if not channel.waiting:
            channel.wake = env.event()
            yield channel.wake
        while env.peek() == env.now:  # everything of this instant happens first
            yield env.timeout(0)
        request = min(channel.waiting, key=lambda entry: (entry[0], entry[1]))
        channel.waiting.remove(request)
        _, _, cycles, granted = request
        granted.succeed()
        channel.busy_cycles += cycles
        yield env.timeout(cycles)


class _Model:
    def __init__(self, tasks: Sequence[CoreTask], core_count: int, chip: ChipConfig) -> None:
        self.env = simpy.Environment()
        self.tasks, self.chip, self.count = tasks, chip, core_count
        self.channel = _Channel(self.env)
        self.finished = [self.env.event() for _ in tasks]
        self.finish_times = [0] * len(tasks)
        self.loaded = [[self.env.event() for _ in range(t.chunks)] for t in tasks]
        self.written = [self.env.event() for _ in tasks]
        self.computed = [[self.env.event() for _ in range(t.chunks)] for t in tasks]
        self.halves = [simpy.Store(self.env) for _ in range(core_count)]
        for store in self.halves:
            store.items.extend(["half", "half"])

    def cycles(self, kind: str, size: int) -> tuple[int, bool]:
        link = self.chip.noc.bandwidth_bytes_per_cycle or self.chip.dram.bandwidth_bytes_per_cycle
        on_link = math.ceil(size / link) if math.isfinite(link) else 0
        if kind == "peer":
            return on_link, self.chip.noc.topology == "bus"
        return max(transfer_cycles(size, self.chip.dram), on_link), True

    def landing(self, core: int, task: CoreTask, kind: str) -> int:
        hop = self.chip.noc.hop_latency_cycles
        if kind == "peer":
            return task.peer_hops * hop
        topology = self.chip.noc.topology
        return self.chip.dram.latency_cycles + hops_to_controller(core, self.count, topology) * hop


def transfer(model: _Model, core: int, kind: str, size: int) -> Process:
    """One transfer of a core's DMA queue: through the arbiter when it uses the channel."""
    cycles, shared = model.cycles(kind, size)
    if shared:
        yield model.channel.request(core, cycles)
    yield model.env.timeout(cycles)


def landed(model: _Model, index: int, chunk: int, arrivals: Sequence[simpy.Event],
           holds_half: bool) -> Process:  # fmt: skip
    yield simpy.AllOf(model.env, arrivals)
    model.loaded[index][chunk].succeed(holds_half)


def dma(model: _Model, core: int, order: list[int]) -> Process:
    env = model.env
    for index in order:
        task = model.tasks[index]
        yield simpy.AllOf(env, [model.finished[i] for i in task.after])
        reads = shares_of(task.dram_read_bytes, task.chunks)
        peers = shares_of(task.peer_bytes, task.chunks)
        writes = shares_of(task.dram_write_bytes, task.chunks)

        def load(chunk: int, task: CoreTask = task, index: int = index) -> Process:
            arrivals, holds_half = [], False
            for kind, size in (("load", reads[chunk]), ("peer", peers[chunk])):  # noqa: B023
                if size:
                    if not holds_half:
                        yield model.halves[core].get()
                        holds_half = True
                    yield from transfer(model, core, kind, size)
                    arrivals.append(env.timeout(model.landing(core, task, kind)))
            if holds_half:
                env.process(landed(model, index, chunk, arrivals, holds_half))

        env.process(task_done(model, index))
        for chunk in range(min(2, task.chunks)):
            yield from load(chunk)
        for chunk in range(task.chunks):
            if writes[chunk]:
                yield model.computed[index][chunk]
                yield from transfer(model, core, "write", writes[chunk])
            if chunk + 2 < task.chunks:
                yield from load(chunk + 2)
        model.written[index].succeed()


def task_done(model: _Model, index: int) -> Process:
    """A task finishes when its last chunk has computed and its DMA queue has drained."""
    yield simpy.AllOf(model.env, [model.computed[index][-1], model.written[index]])
    model.finish_times[index] = int(model.env.now)
    model.finished[index].succeed()


def compute(model: _Model, core: int, order: list[int]) -> Process:
    env = model.env
    for index in order:
        task = model.tasks[index]
        yield simpy.AllOf(env, [model.finished[i] for i in task.after])
        cycles = shares_of(task.compute_cycles, task.chunks)
        reads = shares_of(task.dram_read_bytes, task.chunks)
        peers = shares_of(task.peer_bytes, task.chunks)
        for chunk in range(task.chunks):
            holds_half = False  # a chunk with nothing to load computes when the last one has
            if reads[chunk] or peers[chunk]:
                holds_half = yield model.loaded[index][chunk]
            yield env.timeout(cycles[chunk])
            model.computed[index][chunk].succeed()
            if holds_half:
                yield model.halves[core].put("half")


def simulate_cores(tasks: Sequence[CoreTask], core_count: int,
                   chip: ChipConfig) -> tuple[list[int], int]:  # fmt: skip
    """Every task's finish time, and the cycles the shared channel was held."""
    model = _Model(tasks, core_count, chip)
    env = model.env
    env.process(channel_arbiter(env, model.channel))
    for core in range(core_count):
        order = [i for i, task in enumerate(tasks) if task.core == core]
        env.process(dma(model, core, order))
        env.process(compute(model, core, order))
    env.run()
    return model.finish_times, model.channel.busy_cycles
