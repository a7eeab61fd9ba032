"""accel against real silicon: Eyeriss v1 running AlexNet's five conv layers, per layer.

    python benchmarks/eyeriss_alexnet.py [--no-compression] [--vgg16]

Runs `alexnet_v1` (the 2-group network Eyeriss ran) at batch 4 on `configs/eyeriss_v1.yaml`
with the row-stationary dataflow and prints, per layer, accel's figure beside the published
measurement and their ratio: processing latency, active PEs, global-buffer accesses, DRAM
accesses (run-length coded feature maps). One chip config and one mapping rule for all
layers; the only per-layer input is the data's own zero fraction (below), which drives the
run-length coder as the chip's measured zeros did.

Published figures: Y.-H. Chen, T. Krishna, J. S. Emer, V. Sze, "Eyeriss: An Energy-Efficient
Reconfigurable Accelerator for Deep Convolutional Neural Networks", IEEE JSSC 52(1):127-138,
2017, Table V (AlexNet CONV1-5, batch 4, 200 MHz core, 60 MHz link, 16-bit fixed point). Read
from a transcription of the table (github.com/cucapra/fodlam, data/eyeriss-alexnet.csv and
raw/eyeriss-tableV.txt, an OCR whose CONV3 processing latency reads 21.3; 21.8 is the value
that makes the table's own total, 103.5 ms, add up).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accel.io.sources import load_chip, load_network  # noqa: E402
from accel.mapping.mapper import map_layer  # noqa: E402
from accel.memory.model import row_stationary_memory  # noqa: E402
from accel.perf.timing import time_layer  # noqa: E402


@dataclass(frozen=True)
class Published:
    """One row of Table V."""

    power_mw: float
    total_latency_ms: float
    processing_latency_ms: float
    macs_g: float
    active_pes: int
    ifmap_zeros: float  # fraction of the layer's input that is zero
    glb_mb: float
    dram_mb: float


TABLE_V = {
    "conv1": Published(332, 20.9, 16.5, 0.42, 154, 0.0001, 18.5, 5.0),
    "conv2": Published(288, 41.9, 39.2, 0.90, 135, 0.387, 77.6, 4.0),
    "conv3": Published(266, 23.6, 21.8, 0.60, 156, 0.725, 50.2, 3.0),
    "conv4": Published(235, 18.4, 16.0, 0.45, 156, 0.793, 37.4, 2.1),
    "conv5": Published(236, 10.5, 10.0, 0.30, 156, 0.776, 24.9, 1.3),
}
TOTAL = {"power_mw": 278, "total_latency_ms": 115.3, "processing_latency_ms": 103.5,
         "macs_g": 2.66, "glb_mb": 208.5, "dram_mb": 15.4, "fps": 34.7,
         "dram_per_mac": 0.0029}  # fmt: skip
BATCH = 4
# Table VI, VGG-16 CONV layers at batch 3 (same transcription, data/eyeriss-vgg16.csv): layer →
# (processing latency ms, active PEs, global-buffer MB). CONV2-2's latency is derived from the
# table's total (3755.2 ms) and the other rows: the transcription reads 1110.3, more than that
# row's own total latency (894.3 ms). CONV3-3's buffer MB reads "12l4.8" (1214.8, as CONV3-2).
TABLE_VI = {
    "conv1_1": (38.0, 156, 112.5), "conv1_2": (810.6, 156, 2402.8),
    "conv2_1": (405.3, 150, 1201.4), "conv2_2": (810.7, 156, 2402.3),
    "conv3_1": (204.0, 156, 607.4), "conv3_2": (408.1, 156, 1214.8),
    "conv3_3": (408.1, 156, 1214.8), "conv4_1": (105.1, 168, 321.3),
    "conv4_2": (210.0, 168, 643.7), "conv4_3": (210.0, 168, 643.7),
    "conv5_1": (48.3, 163, 90.0), "conv5_2": (48.5, 168, 90.0), "conv5_3": (48.5, 168, 90.0),
}  # fmt: skip
VGG_BATCH = 3
MB = 1e6  # the paper's MB: 10^6 bytes (15.4 MB / 2.66 G MACs = 0.0058 B, 0.0029 16-bit words)


@dataclass(frozen=True)
class Measured:
    processing_ms: float
    total_ms: float
    active_pes: int
    glb_mb: float
    dram_mb: float
    macs: int


def measure(compression: bool = True) -> dict[str, Measured]:
    """accel's figures per conv layer. Each layer's ifmap is coded at the published density of
    its own input, its ofmap at the next layer's input density (pooling only removes zeros, so
    this is an upper bound on the ofmap's density); CONV5's ofmap at its own input's."""
    chip = load_chip(ROOT / "configs" / "eyeriss_v1.yaml")
    if not compression:
        chip = chip.with_values({"dram.feature_map_compression": "none"})
    network = load_network("alexnet_v1")
    names = list(TABLE_V)
    out = {}
    for layer in network.layers:
        if layer.name not in TABLE_V:
            continue
        index = names.index(layer.name)
        after = names[min(index + 1, len(names) - 1)]
        densities = (1 - TABLE_V[layer.name].ifmap_zeros, 1 - TABLE_V[after].ifmap_zeros)
        if after == layer.name:
            densities = (densities[0], densities[0])
        mapping = map_layer(layer, chip, BATCH)
        timing = time_layer(mapping, chip)
        memory = row_stationary_memory(mapping, timing, chip, densities)
        assert mapping.row_stationary is not None
        clock_khz = chip.clock_mhz * 1000
        out[layer.name] = Measured(
            timing.compute_cycles / clock_khz,
            (timing.compute_cycles + memory.stall_cycles) / clock_khz,
            mapping.row_stationary.active_pes,
            memory.glb_access_bytes / MB,
            memory.dram_bytes / MB,
            mapping.macs,
        )
    return out


def measure_vgg16() -> dict[str, tuple[float, int]]:
    """accel's (processing ms, active PEs) of VGG-16's conv layers at batch 3."""
    chip = load_chip(ROOT / "configs" / "eyeriss_v1.yaml")
    out = {}
    for layer in load_network("vgg16").layers:
        if layer.name in TABLE_VI:
            mapping = map_layer(layer, chip, VGG_BATCH)
            assert mapping.row_stationary is not None
            cycles = time_layer(mapping, chip).compute_cycles
            out[layer.name] = (cycles / (chip.clock_mhz * 1000), mapping.row_stationary.active_pes)
    return out


def _print_vgg16() -> None:
    print("\nVGG-16 CONV layers, batch 3: accel / published (Table VI) / ratio; the chip's own "
          "global-buffer traffic rate (its MB / its ms)")
    print(f"{'layer':8} {'processing ms':>22}  {'active PEs':>10}  {'chip GB/s':>9}")
    ours_total = theirs_total = 0.0
    for name, (ms, pes) in measure_vgg16().items():
        pub_ms, pub_pes, pub_glb = TABLE_VI[name]
        ours_total, theirs_total = ours_total + ms, theirs_total + pub_ms
        print(f"{name:8} {ms:8.1f} {pub_ms:7.1f} {ms / pub_ms:5.2f}  {pes:4} {pub_pes:5}  "
              f"{pub_glb / pub_ms:9.2f}")
    print(f"{'total':8} {ours_total:8.1f} {theirs_total:7.1f} {ours_total / theirs_total:5.2f}")


def _row(name: str, cells: list[tuple[float, float]]) -> str:
    text = "  ".join(f"{ours:8.2f} {theirs:7.2f} {ours / theirs:5.2f}" for ours, theirs in cells)
    return f"{name:6} {text}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-compression", action="store_true",
                        help="send feature maps uncoded (the DRAM column without RLC)")
    parser.add_argument("--vgg16", action="store_true",
                        help="also VGG-16 at batch 3 against Table VI (processing latency)")
    args = parser.parse_args(argv)
    measured = measure(compression=not args.no_compression)
    head = "  ".join(f"{title:>22}" for title in
                     ("processing ms", "active PEs", "global buffer MB", "DRAM MB"))  # fmt: skip
    print("AlexNet CONV1-5 on Eyeriss v1, batch 4: accel / published (JSSC 2017 Table V) / ratio")
    print(f"{'layer':6} {head}")
    for name, ours in measured.items():
        pub = TABLE_V[name]
        print(_row(name, [(ours.processing_ms, pub.processing_latency_ms),
                          (ours.active_pes, pub.active_pes), (ours.glb_mb, pub.glb_mb),
                          (ours.dram_mb, pub.dram_mb)]))  # fmt: skip
    processing = sum(m.processing_ms for m in measured.values())
    total = sum(m.total_ms for m in measured.values())
    dram = sum(m.dram_mb for m in measured.values())
    glb = sum(m.glb_mb for m in measured.values())
    macs = sum(m.macs for m in measured.values())
    pes = sum(m.active_pes for m in measured.values()) / len(measured)
    published_pes = sum(row.active_pes for row in TABLE_V.values()) / len(TABLE_V)
    print(_row("total", [(processing, TOTAL["processing_latency_ms"]), (pes, published_pes),
                         (glb, TOTAL["glb_mb"]), (dram, TOTAL["dram_mb"])]))  # fmt: skip
    print(f"MACs {macs / 1e9:.3f} G (published {TOTAL['macs_g']} G); processing "
          f"{BATCH / processing * 1000:.1f} fps; accel's latency with its DRAM stalls "
          f"{total:.1f} ms (published total latency {TOTAL['total_latency_ms']} ms, "
          f"{TOTAL['fps']} fps); DRAM words (2 B) per MAC {dram * MB / 2 / macs:.4f} "
          f"(published {TOTAL['dram_per_mac']})")
    worst = max(abs(m.processing_ms / TABLE_V[n].processing_latency_ms - 1)
                for n, m in measured.items())  # fmt: skip
    print(f"worst per-layer latency error {worst:.1%}; total "
          f"{processing / TOTAL['processing_latency_ms'] - 1:+.1%}")
    if args.vgg16:
        _print_vgg16()
    return 0


if __name__ == "__main__":
    sys.exit(main())
