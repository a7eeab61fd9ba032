"""Quantize accel's zoo networks with quantize_static WITHOUT quant_pre_process and check accel
against onnxruntime running each file, bit for bit.

Without pre-processing every Conv → BatchNormalization pair stays in the file, and
onnxruntime runs the BatchNormalizations in float32 between quantized tensors (the case
`accel.functional.float_norms` reproduces). Each network is exported by `accel export`
(seeded random float weights, BatchNormalization kept) at a reduced resolution and quantized in
the eight forms (QOperator/QDQ × uint8/int8 activations × per-channel/per-tensor int8 weights)
on four seeded calibration images. Prints one row per file: layers, layers checked, BatchNorm
layers, layers onnxruntime computes in float32, mismatches, seconds.

    python benchmarks/float_islands_check.py                        # 64×64, four networks
    python benchmarks/float_islands_check.py 224 resnet18           # one network at 224×224
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

NETWORKS = ("resnet18", "mobilenet_v2", "googlenet", "mobilenet_v3_small")


def export_float(name: str, size: int, folder: Path) -> Path:
    from accel.io.export import export_network
    from accel.io.sources import load_network

    path = folder / f"{name}.onnx"
    path.write_bytes(export_network(load_network(f"{name}?resolution={size}"), "onnx"))
    return path


def main(size: int, names: list[str]) -> None:
    import onnx
    from quantized_models import CONFIGS, quantize

    from accel.config import ChipConfig
    from accel.io.sources import load_model
    from accel.simulation import run_functional

    logging.disable(logging.WARNING)
    print(f"{'network':20s} {'form':18s} {'layers':>6s} {'checked':>7s} {'BN':>4s} "
          f"{'float32':>7s} {'mismatches':>10s} {'seconds':>7s}")
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            float_model = onnx.load(str(export_float(name, size, folder)))
            for config in CONFIGS:
                start = time.perf_counter()
                model = load_model(str(quantize(float_model, config, folder)))
                report = run_functional(model.network, ChipConfig(), 1, None, True, 0,
                                        model=model).check  # fmt: skip
                assert report is not None
                seconds = time.perf_counter() - start
                norms = sum(layer.kind == "batchnorm" for layer in model.network.layers)
                floats = len(report.extra.get("float_layers", {}))
                print(f"{name:20s} {config.label:18s} {len(model.network.layers):6d} "
                      f"{report.layers_checked:7d} {norms:4d} {floats:7d} "
                      f"{report.mismatches:10d} {seconds:7.1f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    arguments = sys.argv[1:]
    resolution = int(arguments[0]) if arguments else 64
    main(resolution, arguments[1:] or list(NETWORKS))
