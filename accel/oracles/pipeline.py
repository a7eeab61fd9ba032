"""The DMA / compute / write-back pipeline of one layer as a simpy model: the reference replay.

Three hardware actors share one DRAM channel and the double-buffered SRAM:

- `dma_load` reads tiles from DRAM into a free buffer half, in ring order;
- `compute` runs the steps, each waiting for its tiles (and a free ofmap half) to be there;
- `writeback` writes finished ofmap tiles (or spilled partial sums) back and frees their half.

The channel is an in-order descriptor ring: a token holding the number of the next transfer
allowed on the bus (`simpy.FilterStore`), so loads and write-backs interleave exactly as the
schedule queued them. Buffer halves are tokens in `simpy.Store`s; read data lands `latency`
cycles after its transfer. Processes yield only timeouts, puts and gets.

This model plays every step; `replay.py` computes the same timeline in closed form and skips
repeated steady-state runs. Tests check the two agree event for event.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import simpy

from accel.config import OPERANDS, ChipConfig
from accel.memory.replay import LogEntry, transfer_cycles
from accel.memory.tile_schedule import Load, Schedule, Step

Process = Generator[Any, Any, None]


@dataclass(frozen=True)
class PipelineRun:
    """A layer's replayed timeline."""

    total_cycles: int
    log: list[LogEntry]  # (start, end, actor, what), sorted


@dataclass(frozen=True)
class _Ring:
    """The schedule flattened into the DMA ring's transfers, in order."""

    loads: list[tuple[int, Load]]  # (ring position, load)
    writebacks: list[tuple[int, int]]  # (ring position, bytes)


def _ring(schedule: Schedule, steps: list[Step]) -> _Ring:
    loads: list[tuple[int, Load]] = []
    writebacks: list[tuple[int, int]] = []
    position = itertools.count()
    loads.extend((next(position), load) for load in schedule.prologue)
    for step in steps:
        loads.extend((next(position), load) for load in step.loads)
        if step.writeback_bytes:
            writebacks.append((next(position), step.writeback_bytes))
        loads.extend((next(position), load) for load in step.post_loads)
    return _Ring(loads, writebacks)


@dataclass
class _Chip:
    """The simpy resources of one replay."""

    env: simpy.Environment
    chip: ChipConfig
    channel: simpy.FilterStore
    ready: dict[str, simpy.Store]
    halves: dict[str, list[simpy.Store]]
    finished: simpy.Store
    psum_visits: list[int]  # ofmap visits (in order) that start from partial sums read back
    log: list[LogEntry]

    @classmethod
    def build(cls, env: simpy.Environment, chip: ChipConfig, psum_visits: list[int]) -> _Chip:
        channel = simpy.FilterStore(env)
        channel.put(0)
        halves: dict[str, list[simpy.Store]] = {}
        for buffer in OPERANDS:
            count = 2 if chip.sram.buffer_for(buffer).double_buffered else 1
            halves[buffer] = [simpy.Store(env) for _ in range(count)]
            for store in halves[buffer]:
                store.put("free")
        ready = {kind: simpy.Store(env) for kind in ("ifmap", "weight", "psum")}
        return cls(env, chip, channel, ready, halves, simpy.Store(env), psum_visits, [])

    def half(self, buffer: str, index: int) -> simpy.Store:
        stores = self.halves[buffer]
        return stores[index % len(stores)]


def dma_load(hw: _Chip, loads: list[tuple[int, Load]]) -> Process:
    """Fetch each tile into the next free half of its buffer, when the ring reaches it."""
    counts = {"ifmap": 0, "weight": 0, "psum": 0}
    visits = iter(hw.psum_visits)
    for position, load in loads:
        yield hw.channel.get(_turn(position))
        if load.kind == "psum":
            yield hw.half("ofmap", next(visits)).get()
        else:
            yield hw.half(load.kind, counts[load.kind]).get()
        counts[load.kind] += 1
        start = hw.env.now
        yield hw.env.timeout(transfer_cycles(load.bytes, hw.chip.dram))
        yield hw.channel.put(position + 1)
        hw.log.append((int(start), int(hw.env.now), "dma_load", load.kind))
        hw.env.process(_arrive(hw, load.kind))


def _turn(position: int) -> Callable[[Any], bool]:
    """The ring's gate: the channel token must show this transfer's position."""
    return lambda token: bool(token == position)


def _arrive(hw: _Chip, kind: str) -> Process:
    yield hw.env.timeout(hw.chip.dram.latency_cycles)
    yield hw.ready[kind].put(kind)


def compute(hw: _Chip, steps: list[Step]) -> Process:
    """Run each step once its tiles have arrived; free input halves after a tile's last step."""
    counts = {"ifmap": 0, "weight": 0}
    visit = -1
    for step in steps:
        for kind in step.takes:
            yield hw.ready[kind].get()
        if step.claims_ofmap or "psum" in step.takes:
            visit += 1
        if step.claims_ofmap:
            yield hw.half("ofmap", visit).get()
        start = hw.env.now
        yield hw.env.timeout(step.compute_cycles)
        hw.log.append((int(start), int(hw.env.now), "compute", ""))
        for buffer in step.releases:
            yield hw.half(buffer, counts[buffer]).put("free")
            counts[buffer] += 1
        if step.writeback_bytes:
            yield hw.finished.put(visit)


def writeback(hw: _Chip, writebacks: list[tuple[int, int]]) -> Process:
    """Write each finished ofmap tile to DRAM when the ring reaches it; then free its half."""
    for position, size in writebacks:
        visit = yield hw.finished.get()
        yield hw.channel.get(_turn(position))
        start = hw.env.now
        yield hw.env.timeout(transfer_cycles(size, hw.chip.dram))
        yield hw.channel.put(position + 1)
        hw.log.append((int(start), int(hw.env.now), "writeback", "ofmap"))
        yield hw.half("ofmap", visit).put("free")


def replay_pipeline(schedule: Schedule, chip: ChipConfig) -> PipelineRun:
    """Play every step of one layer (alone, from empty buffers) in simpy."""
    steps = list(schedule.steps())
    ring = _ring(schedule, steps)
    visit_starts = [s for s in steps if s.claims_ofmap or "psum" in s.takes]
    psum_visits = [i for i, s in enumerate(visit_starts) if "psum" in s.takes]
    env = simpy.Environment()
    hw = _Chip.build(env, chip, psum_visits)
    env.process(dma_load(hw, ring.loads))
    env.process(compute(hw, steps))
    env.process(writeback(hw, ring.writebacks))
    env.run()
    return PipelineRun(int(env.now), sorted(hw.log))
