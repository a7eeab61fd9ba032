"""Run Stream (stream-dse 0.0.8) and accel on the same 4-core chip and networks; compare.

The chip is Stream's example `TPU_like_quad_core` (four 32×32 TPU-like cores on a 2×2 mesh,
one off-chip DRAM port) and its example mapping `tpu_like_quad_core`; accel's nearest chip is
`configs/stream_tpu_like_quad_core.yaml` (its header lists what matches and what cannot). The
networks are accel's built-in ResNet-18 and MobileNetV2, exported by accel as float ONNX models
for Stream, so both tools see the same layers. Stream runs layer by layer (one computation node
per layer, `hint_loops = [("OY", "all")]`) with its genetic algorithm choosing each layer's core
(`--individuals` × `--generations`; Stream's own example script uses 128 × 100, hours per
network here); accel splits each layer over the four cores (`core_schedule: split`).

Stream runs in its own venv through a subprocess (never imported by accel); the child times its
run (parsing, per-layer ZigZag mapping search, the genetic algorithm, the schedule) from a cold
start and reports latency (cycles), energy and DRAM bytes: the bits of every tensor it moves to
or from its off-chip core, counted by wrapping `Accelerator.get_memory_energy_cost_of_transfer`
(every such transfer goes through it), during the schedule Stream returns (the genetic
algorithm schedules every individual it scores; the count restarts with each). accel is timed
in this process: cold (first call, caches empty) and warm (best of --repeat); it also prints
accel's figures for one of the cores alone (`cores: 1`), nearer to Stream's schedule, which runs
each layer whole on one core.

    python benchmarks/vs_stream.py                      # both networks, ~3-10 min in Stream
    python benchmarks/vs_stream.py --networks resnet18

Set Stream's venv up once (stream-dse 0.0.8 needs ZigZag 2.x, which pip does not pick itself):

    python3 -m venv .venv-stream
    .venv-stream/bin/pip install stream-dse==0.0.8 "zigzag-dse<3" plotly

Without it the script says so and times accel alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # time this checkout's accel, not another installed copy

from accel.config import ChipConfig  # noqa: E402
from accel.io.export import onnx_model  # noqa: E402
from accel.io.sources import load_network  # noqa: E402
from accel.memory.model import clear_cache  # noqa: E402
from accel.simulation import simulate_network  # noqa: E402

CHIP = REPO / "configs" / "stream_tpu_like_quad_core.yaml"
STREAM_PYTHON = REPO / ".venv-stream" / "bin" / "python"
CHILD = r"""
import contextlib, io, json, logging, os, sys, time
logging.disable(logging.CRITICAL)
from zigzag.classes.stages import MainStage, AcceleratorParserStage
from stream.classes.stages import (GenerateCNWorkloadHybridStage, InterCoreMappingStage,
                                   IntraCoreMappingStage, StreamONNXModelParserStage)
from stream.classes.hardware.architecture.accelerator import Accelerator
from stream.classes.cost_model.cost_model import StreamCostModelEvaluation
onnx_path, out, generations, individuals = sys.argv[1:5]
moved = {"offchip_bits": 0}
transfer_cost = Accelerator.get_memory_energy_cost_of_transfer
def counted(self, tensor, sender, receiver, *operands):
    ends = [c if isinstance(c, int) else c.id for c in (sender, receiver)]
    if self.offchip_core_id in ends:
        moved["offchip_bits"] += tensor.size
    return transfer_cost(self, tensor, sender, receiver, *operands)
Accelerator.get_memory_energy_cost_of_transfer = counted
evaluate = StreamCostModelEvaluation.run
def evaluated(self):  # every GA fitness runs a schedule: count the last one, the answer's
    moved["offchip_bits"] = 0
    return evaluate(self)
StreamCostModelEvaluation.run = evaluated
os.chdir(out)
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    stage = MainStage(
        [AcceleratorParserStage, StreamONNXModelParserStage, GenerateCNWorkloadHybridStage,
         IntraCoreMappingStage, InterCoreMappingStage],
        accelerator="stream.inputs.examples.hardware.TPU_like_quad_core",
        workload_path=onnx_path,
        mapping_path="stream.inputs.examples.mapping.tpu_like_quad_core",
        loma_lpf_limit=6, nb_ga_individuals=int(individuals), nb_ga_generations=int(generations),
        node_hw_performances_path=os.path.join(out, "node_hw_performances.pickle"),
        plot_hof=True, plot_file_name=False, plot_full_schedule=False, plot_data_transfer=False,
        cn_define_mode=1, hint_loops=[("OY", "all")], scheduler_candidate_selection="memory",
        operands_to_prefetch=[])
    scme = stage.run()[0][0]
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "latency_cycles": scme.latency, "energy_pj": scme.energy,
                  "dram_bytes": moved["offchip_bits"] / 8}))
"""


def run_stream(python: Path, network: str, generations: int, individuals: int) -> dict[str, Any]:
    """Stream's figures for `network` from a cold start, and the child's wall seconds."""
    with tempfile.TemporaryDirectory(prefix="vs_stream_") as scratch:
        model = Path(scratch) / f"{network}.onnx"
        import onnx

        model.write_bytes(onnx.shape_inference.infer_shapes(
            onnx_model(load_network(network))).SerializeToString())  # fmt: skip
        start = time.perf_counter()
        child = subprocess.run(
            [str(python), "-c", CHILD, str(model), scratch, str(generations), str(individuals)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        wall = time.perf_counter() - start
    figures: dict[str, Any] = json.loads(child.stdout.splitlines()[-1])
    figures["wall_seconds"] = wall
    return figures


def run_accel(network: str, chip: ChipConfig, repeat: int) -> dict[str, Any]:
    """accel's figures for `network`, with its cold and best warm simulation seconds."""
    net = load_network(network)
    clear_cache()
    start = time.perf_counter()
    result = simulate_network(net, chip)
    cold = time.perf_counter() - start
    warm = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        simulate_network(net, chip)
        warm = min(warm, time.perf_counter() - start)
    summary = result.summary()
    one_core = simulate_network(net, chip.with_values({"cores": 1})).summary()
    return {
        "one_core_latency_cycles": one_core["total_cycles"],
        "one_core_dram_bytes": one_core["dram_read_bytes"] + one_core["dram_write_bytes"],
        "seconds": cold, "warm_seconds": warm, "latency_cycles": summary["total_cycles"],
        "energy_pj": result.energy_pj,
        "dram_bytes": summary["dram_read_bytes"] + summary["dram_write_bytes"],
        "compulsory_dram_bytes": summary["cores"]["compulsory_dram_bytes"],
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=["resnet18", "mobilenet_v2"])
    parser.add_argument("--stream-python", type=Path, default=STREAM_PYTHON)
    parser.add_argument("--generations", type=int, default=2, help="Stream's GA generations")
    parser.add_argument("--individuals", type=int, default=4, help="Stream's GA population")
    parser.add_argument("--repeat", type=int, default=5, help="warm accel runs (best is kept)")
    args = parser.parse_args()
    chip = ChipConfig.from_yaml(CHIP)
    stream = args.stream_python.is_file()
    if not stream:
        print(f"Stream: skipped, no interpreter at {args.stream_python} (create the venv: "
              "python3 -m venv .venv-stream && .venv-stream/bin/pip install stream-dse==0.0.8 "
              "'zigzag-dse<3' plotly)")  # fmt: skip
    print(f"chip: {CHIP.relative_to(REPO)} vs Stream's TPU_like_quad_core; Stream's GA "
          f"{args.individuals} individuals x {args.generations} generations")  # fmt: skip
    for network in args.networks:
        ours = run_accel(network, chip, args.repeat)
        theirs = run_stream(args.stream_python, network, args.generations,
                            args.individuals) if stream else None  # fmt: skip
        print(f"\n{network}: compulsory DRAM bytes (input + weights + output once) "
              f"{ours['compulsory_dram_bytes']:,}")  # fmt: skip
        print(f"{'':12s} {'latency cycles':>15s} {'DRAM bytes':>13s} {'energy uJ':>11s} "
              f"{'seconds':>9s}")  # fmt: skip
        rows = [("accel", ours)] + ([("Stream", theirs)] if theirs else [])
        for name, figures in rows:
            print(f"{name:12s} {figures['latency_cycles']:15,.0f} {figures['dram_bytes']:13,.0f} "
                  f"{figures['energy_pj'] * 1e-6:11,.1f} {figures['seconds']:9.3f}")  # fmt: skip
        print(f"accel warm: {ours['warm_seconds']:.3f} s (best of {args.repeat}); accel on one "
              f"of the cores: {ours['one_core_latency_cycles']:,} cycles, "
              f"{ours['one_core_dram_bytes']:,} DRAM bytes")  # fmt: skip
        if theirs:
            latency = theirs["latency_cycles"] / ours["latency_cycles"]
            print(f"Stream/accel: latency {latency:.2f}x, "
                  f"DRAM {theirs['dram_bytes'] / ours['dram_bytes']:.2f}x, energy "
                  f"{theirs['energy_pj'] / ours['energy_pj']:.2f}x; accel is "
                  f"{theirs['seconds'] / ours['seconds']:,.0f}x faster cold "
                  f"(Stream's process {theirs['wall_seconds']:.0f} s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
