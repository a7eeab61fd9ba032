"""The cost model's chain: map, time, model memory, replay and cost every layer of a network
(or a training step's work items), single-core or cut over many cores."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from accel.config import ChipConfig
from accel.errors import InputError
from accel.mapping.mapper import Mapping as LayerMapping
from accel.mapping.mapper import map_layer
from accel.memory.activation_plan import ActivationPlan, plain_plan
from accel.memory.footprint import NetworkFootprint, network_footprint
from accel.memory.model import MemoryTraffic, compulsory_bytes, model_memory
from accel.memory.network_replay import replay_network
from accel.model.network import Layer, Network
from accel.perf.energy import layer_energy, recomputed
from accel.perf.timing import ComputeTiming, time_layer
from accel.results import LayerResult, NetworkResult, analytic_summary
from accel.simulation.collection import paused

# A feature's modules (fusion and residency, multi-core scheduling, training passes) are
# imported where a run chooses the feature: a plain single-core run never loads them.
_Front = tuple[tuple[LayerMapping, ...], tuple[ComputeTiming, ...], NetworkFootprint, int]

if TYPE_CHECKING:
    from accel.memory.core_pieces import LayerCores
    from accel.model.training import Optimizer


def simulate_layer(layer: Layer, chip: ChipConfig, batch: int = 1) -> LayerResult:
    """Cycles, traffic and energy of one layer run alone (empty buffers, idle channel)."""
    mapping = map_layer(layer, chip, batch)
    timing = time_layer(mapping, chip)
    memory = model_memory(mapping, timing, chip)
    total_cycles = timing.compute_cycles + memory.stall_cycles
    energy = layer_energy(mapping, timing, memory, total_cycles, chip)
    return LayerResult(mapping, timing, memory, energy, chip.array.pe_count)


@paused
def simulate_network(
    network: Network, chip: ChipConfig, batch: int = 1,
    densities: Mapping[str, tuple[float, float]] | None = None,
) -> NetworkResult:
    """Simulate every layer of `network` on `chip` for `batch` images, end to end.
    `densities` maps a layer to the non-zero fractions of its (ifmap, ofmap), which drive the
    run-length coder of a row-stationary chip (`feature_map_densities` measures them)."""
    if chip.core_count > 1:
        return simulate_cores(network, chip, batch)
    if not isinstance(chip.cores, int):  # a list of one core: that core is the chip
        chip = chip.core_chips()[0]
    mappings, timings, footprint, params = _front(network, chip, batch)
    found = densities or {}
    memories = [
        model_memory(mapping, timing, chip, found.get(mapping.layer.name))
        for mapping, timing in zip(mappings, timings, strict=True)
    ]
    # Fused groups and activations kept on chip (chip.memory; both off by default).
    plan = _activation_plan(network, mappings, timings, memories, chip)
    # Each layer's share of the end-to-end timeline (sums to the network's latency).
    shares = plan.shares(replay_network(plan.schedules, chip))
    facts = plan.layers or (None,) * len(mappings)
    layers = tuple(
        LayerResult(
            mapping,
            timing,
            memory,
            recomputed(layer_energy(mapping, timing, memory, cycles, chip),
                       fact.recompute_macs if fact else 0, chip),
            chip.array.pe_count,
            cycles,
            layer_footprint,
            activations=fact,
        )
        for mapping, timing, memory, cycles, layer_footprint, fact in zip(
            mappings, plan.timings, plan.memories, shares, footprint.layers, facts, strict=True
        )
    )  # fmt: skip
    block = plan.summary(chip, network) if plan.layers is not None else None
    return NetworkResult(network.name, chip, batch, params, layers, footprint=footprint,
                         activations=block,
                         compulsory_network_bytes=plan.compulsory_network_bytes)  # fmt: skip


# (network, batch, what mapping and compute timing read of the chip) → (the network, kept alive
# so that its id is not reused; its mappings, timings, footprint and parameter count): sweep
# points that differ only in SRAM sizes, DRAM timing, clock or energy map and time every layer
# once (and sum the parameters, a walk over every layer's weights, once)
_FRONTS: OrderedDict[tuple[object, ...], tuple[Network, _Front]] = OrderedDict()
_KEPT_FRONTS = 8


def _front(network: Network, chip: ChipConfig, batch: int) -> _Front:
    """Every layer's mapping and compute timing, the network's footprint on `chip`, and its
    parameter count."""
    rs = chip.array.dataflow == "rs"  # the row-stationary mapping also reads the buffers
    key = (id(network), batch, chip.array, chip.vector_unit,
           (chip.row_stationary, chip.sram) if rs else None)  # fmt: skip
    kept = _FRONTS.get(key)
    if kept is not None and kept[0] is network:
        _FRONTS.move_to_end(key)
        return kept[1]
    mappings = tuple(map_layer(layer, chip, batch) for layer in network.layers)
    timings = tuple(time_layer(mapping, chip) for mapping in mappings)
    footprint = network_footprint(network, batch, chip.array.element_bytes)
    front = (mappings, timings, footprint, network.params)
    _FRONTS[key] = (network, front)
    if len(_FRONTS) > _KEPT_FRONTS:
        _FRONTS.popitem(last=False)
    return front


# Chip fields no stage before the energy reads (names, clock, energy, area): chips that differ
# only here run the same cycles and traffic (`reclocked`).
CYCLE_FREE_FIELDS = ("name", "description", "clock_mhz", "energy", "area")


def cycle_chip(chip: ChipConfig) -> ChipConfig:
    """`chip` with every `CYCLE_FREE_FIELDS` entry at its default: equal for chips whose runs
    have the same cycles and traffic."""
    default = ChipConfig()
    return chip.model_copy(update={name: getattr(default, name) for name in CYCLE_FREE_FIELDS})


def can_reclock(chip: ChipConfig) -> bool:
    """A chip whose run `reclocked` can reprice: one core, fusion and residency off (their
    plans' blocks are not recounted)."""
    return (
        isinstance(chip.cores, int) and chip.cores == 1
        and chip.memory.fusion == "off" and chip.memory.activation_residency == "off"
    )  # fmt: skip


def reclocked(result: NetworkResult, chip: ChipConfig) -> NetworkResult:
    """`simulate_network(network, chip, batch)` from the `result` of the same network and batch
    on a chip equal to `chip` but in `CYCLE_FREE_FIELDS`: the same mapping, cycles and traffic
    (nothing replayed), each layer's energy counted again on `chip`, the summary from `chip`."""
    if not can_reclock(chip) or cycle_chip(chip) != cycle_chip(result.chip):
        raise ValueError("reclocked needs a one-core chip equal to the result's but in "
                         f"{', '.join(CYCLE_FREE_FIELDS)}")  # fmt: skip
    layers = tuple(
        layer._replace(energy=recomputed(
            layer_energy(layer.mapping, layer.timing, layer.memory, layer.total_cycles, chip),
            0, chip,
        ))
        for layer in result.layers
    )  # fmt: skip
    return replace(result, chip=chip, layers=layers)


def summary_metric_names(network: Network, chip: ChipConfig) -> tuple[str, ...]:
    """The numeric keys of `simulate_network(network, chip).summary()`, in their order, without
    simulating: the summary of a run of no layers has the same numeric keys (which blocks it
    has depends only on whether the chip runs on one core)."""
    footprint = network_footprint(network, 1, chip.array.element_bytes)
    single = chip.core_count == 1
    empty = NetworkResult(network.name, chip, 1, network.params, (), footprint=footprint,
                          compulsory_network_bytes=0 if single else None,
                          cores=None if single else {})  # fmt: skip
    return tuple(
        key for key, value in empty.summary().items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    )  # fmt: skip


def _activation_plan(
    network: Network,
    mappings: Sequence[LayerMapping],
    timings: Sequence[ComputeTiming],
    memories: Sequence[MemoryTraffic],
    chip: ChipConfig,
) -> ActivationPlan:
    """Each layer's own traffic, or with fusion or residency on, the plan they make."""
    if chip.memory.fusion == "off" and chip.memory.activation_residency == "off":
        return plain_plan(network, mappings, timings, memories)
    from accel.memory.activations import plan_activations

    return plan_activations(network, mappings, timings, memories, chip)


def simulate_cores(network: Network, chip: ChipConfig, batch: int = 1) -> NetworkResult:
    """A multi-core chip: each layer mapped and timed whole on the first core (the rows'
    mapping columns), then cut over the cores and played on the shared channel
    (`schedule_network`); each row's cycles, DRAM bytes and energy are its pieces'."""
    from accel.memory.core_outputs import cores_section
    from accel.memory.multicore import schedule_network

    core = chip.core_chips()[0]
    run = schedule_network(network, chip, batch)
    footprint = network_footprint(network, batch, chip.array.element_bytes)
    pe_count = sum(each.array.pe_count for each in chip.core_chips())
    layers, ifmap_reads = [], {}
    for layer, plan, layer_footprint in zip(network.layers, run.layers, footprint.layers,
                                            strict=True):  # fmt: skip
        mapping = map_layer(layer, core, batch)
        timing = time_layer(mapping, core)
        whole = model_memory(mapping, timing, core)
        if mapping.array is not None:  # a window may skip input pixels (strided 1×1)
            ifmap_reads[layer.name] = whole.compulsory_ifmap_bytes
        memory = _cores_memory(whole, plan)
        if plan.pieces:
            timing = replace(timing, compute_cycles=plan.compute_cycles)
        energy = layer_energy(mapping, timing, memory, plan.cycles, chip)
        layers.append(LayerResult(mapping, timing, memory, energy, pe_count, plan.cycles,
                                  layer_footprint, cores=plan))  # fmt: skip
    return NetworkResult(network.name, chip, batch, network.params, tuple(layers),
                         footprint=footprint,
                         cores=cores_section(run, network, chip, batch, ifmap_reads),
                         core_run=run)  # fmt: skip


def _cores_memory(memory: MemoryTraffic, plan: LayerCores) -> MemoryTraffic:
    """The layer's DRAM bytes: the sum over its pieces (a cut reads a shared operand more)."""
    return memory.replace(
        dram_ifmap_bytes=plan.total("ifmap_bytes"),
        dram_weight_bytes=plan.total("weight_bytes"),
        dram_ofmap_write_bytes=plan.total("ofmap_write_bytes"),
        dram_ofmap_read_bytes=plan.total("ofmap_read_bytes"),
    )


def simulate_training(
    network: Network, chip: ChipConfig, batch: int = 1, optimizer: Optimizer = "sgd"
) -> NetworkResult:
    """One training step of `network` on `batch` images: forward, loss, backward and the
    optimizer update, each work item mapped, timed and costed by the inference stages, end to
    end on one timeline; the result's `training` block has the step's MACs, time and memory."""
    from accel.mapping.training import map_work
    from accel.model.training import training_step
    from accel.results import training_section

    if chip.core_count > 1:
        raise InputError(f"a training step runs on one core: cores must be 1 for --training, "
                         f"not {chip.core_count}")  # fmt: skip
    step = training_step(network, batch, optimizer, chip.array.element_bytes,
                         chip.training.activations)  # fmt: skip
    mappings = [map_work(work, chip) for work in step.items]
    timings = [time_layer(mapping, chip) for mapping in mappings]
    memories = [
        model_memory(mapping, timing, chip)
        for mapping, timing in zip(mappings, timings, strict=True)
    ]
    shares = replay_network([memory.schedule for memory in memories], chip)
    layers = tuple(
        LayerResult(
            mapping, timing, memory, layer_energy(mapping, timing, memory, cycles, chip),
            chip.array.pe_count, cycles, pass_name=work.pass_name, label=work.label,
        )
        for work, mapping, timing, memory, cycles in zip(
            step.items, mappings, timings, memories, shares, strict=True
        )
    )  # fmt: skip
    section = training_section(layers, step.memory(chip.array.element_bytes), chip, optimizer)
    return NetworkResult(network.name, chip, batch, network.params, layers, training=section)


def simulate_analytic(network: Network, chip: ChipConfig, batch: int = 1) -> dict[str, Any]:
    """The summary's `ANALYTIC_METRICS` from mapping and timing alone, without the memory
    model: what a sweep that asks only for them computes per point. A multi-core chip's compute
    cycles come from its schedule: it is simulated whole."""
    mappings, timings, footprint, params = _front(network, chip, batch)
    layers = [
        (mapping.macs, timing.compute_cycles, compulsory_bytes(mapping))
        for mapping, timing in zip(mappings, timings, strict=True)
    ]
    analytic = analytic_summary(chip, params, footprint, layers)
    if chip.core_count > 1:
        summary = simulate_network(network, chip, batch).summary()
        return {key: summary[key] for key in analytic}
    return analytic
