"""What a multi-core run reports: the summary's `cores` block, the network's compulsory DRAM
bound it is measured against, and the per-core trace file (Chrome's trace-event format)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from accel.config import ChipConfig
from accel.memory.core_pieces import MultiCoreRun
from accel.model.network import Network


def network_compulsory_bytes(
    network: Network, batch: int, element_bytes: int, ifmap_reads: Mapping[str, int] | None = None
) -> int:
    """The network's DRAM lower bound: its inputs, every weight and its outputs, each once.
    `ifmap_reads` (a single-input layer's name → the compulsory bytes of its ifmap: the
    elements some window reads) bounds an input that every reader reads only in part (a
    strided 1×1 conv skips pixels) by what its readers read."""
    read = {name for layer in network.layers for name in layer.inputs}
    inputs = 0
    for name, shape in network.inputs:
        whole = shape.elements * batch * element_bytes
        readers = [layer for layer in network.layers if name in layer.inputs]
        parts = [(ifmap_reads or {}).get(layer.name, whole) if len(layer.inputs) == 1 else whole
                 for layer in readers]  # fmt: skip
        inputs += max(parts, default=whole)
    outputs = sum(layer.output_shape.elements for layer in network.layers
                  if layer.name not in read)  # fmt: skip
    weights = sum(layer.weight_bytes_at(element_bytes) for layer in network.layers)
    return inputs + outputs * batch * element_bytes + weights


def cores_section(
    run: MultiCoreRun, network: Network, chip: ChipConfig, batch: int,
    ifmap_reads: Mapping[str, int] | None = None,
) -> dict[str, object]:
    """The summary.json `cores` block: the schedule, each core's busy time and utilization,
    NoC and DRAM traffic against the network's compulsory bound."""
    cycles = run.total_cycles
    peer = sum(task.peer_bytes for task in run.tasks)
    dram = sum(task.dram_read_bytes + task.dram_write_bytes for task in run.tasks)
    bound = network_compulsory_bytes(network, batch, chip.array.element_bytes, ifmap_reads)
    cores = chip.core_chips()
    return {
        "count": chip.core_count,
        "schedule": run.schedule,
        "noc_topology": chip.noc.topology,
        "per_core": [
            {"core": index, "array": f"{core.array.rows}x{core.array.cols}",
             "busy_cycles": busy, "macs": macs,
             "busy_fraction": round(busy / cycles, 6) if cycles else 0.0,
             "utilization": round(macs / (cycles * core.array.pe_count), 6) if cycles else 0.0}
            for index, (core, busy, macs) in enumerate(
                zip(cores, run.timeline.busy_cycles, run.core_macs, strict=True))
        ],
        "dram_bytes": dram,
        "compulsory_dram_bytes": bound,
        "dram_over_compulsory": round(dram / bound, 4) if bound else 0.0,
        "dram_channel_busy_cycles": run.timeline.channel_busy_cycles,
        "noc_bytes": dram + peer,
        "core_to_core_bytes": peer,
    }  # fmt: skip


def core_trace_events(
    names: Sequence[str], run: MultiCoreRun, chip: ChipConfig
) -> dict[str, object]:
    """The schedule in Chrome's trace-event format (Perfetto): one track per core, a span per
    piece of a layer; times in µs at the chip's clock, cycles in each event's args."""
    us = 1.0 / chip.clock_mhz
    events: list[dict[str, object]] = [
        {"ph": "M", "name": "thread_name", "pid": 1, "tid": core,
         "args": {"name": f"core {core}"}}
        for core in range(chip.core_count)
    ]
    for index, task in enumerate(run.tasks):
        start, end = run.timeline.starts[index], run.timeline.finishes[index]
        events.append({"ph": "X", "name": names[task.layer], "cat": run.schedule, "pid": 1,
                       "tid": task.core, "ts": start * us, "dur": (end - start) * us,
                       "args": {"cycles": end - start, "compute_cycles": task.compute_cycles,
                                "dram_bytes": task.dram_read_bytes + task.dram_write_bytes,
                                "core_to_core_bytes": task.peer_bytes,
                                "image": task.image}})  # fmt: skip
    other = {"clock_mhz": chip.clock_mhz, "total_cycles": run.total_cycles}
    return {"traceEvents": events, "displayTimeUnit": "ns", "otherData": other}
