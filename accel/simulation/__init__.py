"""The orchestrator: the one place that chains the stages for every layer of a network.

map_layer     → where the layer runs and how it folds onto the array
time_layer    → stall-free compute cycles and SRAM accesses
model_memory  → tiling under SRAM capacity, DRAM traffic, the layer's replayed pipeline
plan_activations → fused groups and resident activations (off by default): traffic, schedules
replay_network → the end-to-end timeline: layers back to back, next weights prefetched
layer_energy  → energy per component over each layer's share of that timeline

simulate_training runs the same chain over a training step's work items (`training_step`:
forward, loss, backward GEMMs and vector items, optimizer updates; `map_work` places them).

run_functional chains the int8 path: quantize_network → prepare → run along each layer's
tile schedule (the tiling model_memory chose, `engine.schedules_for`) → (optionally) the
bit-exact check against onnxruntime or TFLite. For a quantized model file, run_model_file
instead reads onnxruntime's optimized graph (which layers it fuses, which it keeps in float32)
→ runs the file's own int8 model → checks against the runtime running the file itself.

`cost.py` holds the cost model's chain, `int8.py` the int8 one; both are re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accel.simulation.cost import (
    CYCLE_FREE_FIELDS,
    can_reclock,
    cycle_chip,
    reclocked,
    simulate_analytic,
    simulate_cores,
    simulate_layer,
    simulate_network,
    simulate_training,
    summary_metric_names,
)

if TYPE_CHECKING:
    from accel.simulation.int8 import (
        FILE_INT8,
        FunctionalResult,
        Progress,
        feature_map_densities,
        require_int8,
        run_functional,
        run_model_file,
    )

# The int8 chain's names, loaded on first use: a run of the cost model alone never needs them.
_INT8 = frozenset(("FILE_INT8", "FunctionalResult", "Progress", "feature_map_densities",
                   "require_int8", "run_functional", "run_model_file"))  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _INT8:
        from accel.simulation import int8

        return getattr(int8, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CYCLE_FREE_FIELDS",
    "FILE_INT8",
    "FunctionalResult",
    "Progress",
    "can_reclock",
    "cycle_chip",
    "feature_map_densities",
    "reclocked",
    "require_int8",
    "run_functional",
    "run_model_file",
    "simulate_analytic",
    "simulate_cores",
    "simulate_layer",
    "simulate_network",
    "simulate_training",
    "summary_metric_names",
]
