"""Quantize real CNN architectures with onnxruntime's quantize_static and check accel against
onnxruntime running each file, bit for bit.

The architectures are tools/export_torch_models.py's (ResNet-18, MobileNetV2, SqueezeNet 1.1,
ShuffleNetV2 0.5x), exported by torch with seeded random weights at a reduced resolution, folded
with `quant_pre_process`, and quantized in the eight forms (QOperator/QDQ × uint8/int8
activations × per-channel/per-tensor int8 weights) plus, with `--uint8-weights`, the four forms
with uint8 weights (QOperator/QDQ × per-channel/per-tensor, uint8 activations) on four seeded
calibration images. Prints one row per file: layers, layers checked, layers onnxruntime keeps in
float32, mismatches, seconds.

    python benchmarks/qimport_check.py                 # 96×96, all four models
    python benchmarks/qimport_check.py 224 resnet18    # one model at 224×224
    python benchmarks/qimport_check.py --uint8-weights # 96×96, 12 forms per model
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests"), str(ROOT)]

MODEL_NAMES = ("resnet18", "mobilenet_v2", "squeezenet1_1", "shufflenet_v2_x0_5")


def export_float(name: str, size: int, folder: Path) -> Path:
    import torch
    from export_torch_models import MODELS
    from onnxruntime.quantization.shape_inference import quant_pre_process

    torch.manual_seed(0)
    model = MODELS[name]().eval()
    raw, folded = folder / f"{name}_raw.onnx", folder / f"{name}.onnx"
    torch.onnx.export(model, (torch.randn(1, 3, size, size),), str(raw), dynamo=False,
                      input_names=["input"], opset_version=13)  # fmt: skip
    quant_pre_process(str(raw), str(folded), skip_symbolic_shape=True)
    return folded


def main(size: int, names: list[str], uint8_weights: bool) -> None:
    import onnx
    from quantized_models import CONFIGS, UINT8_WEIGHT_CONFIGS, quantize

    from accel.config import ChipConfig
    from accel.io.sources import load_model
    from accel.simulation import run_functional

    logging.disable(logging.WARNING)
    print(f"{'model':20s} {'form':22s} {'layers':>6s} {'checked':>7s} {'float32':>7s} "
          f"{'mismatches':>10s} {'seconds':>7s}")
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            float_model = onnx.load(str(export_float(name, size, folder)))
            for config in CONFIGS + (UINT8_WEIGHT_CONFIGS if uint8_weights else []):
                start = time.perf_counter()
                path = quantize(float_model, config, folder)
                model = load_model(str(path))
                report = run_functional(model.network, ChipConfig(), 1, None, True, 0,
                                        model=model).check  # fmt: skip
                assert report is not None
                seconds = time.perf_counter() - start
                floats = len(report.extra.get("float_layers", {}))
                print(f"{name:20s} {config.label:22s} {len(model.network.layers):6d} "
                      f"{report.layers_checked:7d} {floats:7d} {report.mismatches:10d} "
                      f"{seconds:7.1f}", flush=True)  # fmt: skip
    np.set_printoptions()


if __name__ == "__main__":
    flags = [argument for argument in sys.argv[1:] if argument.startswith("--")]
    arguments = [argument for argument in sys.argv[1:] if not argument.startswith("--")]
    resolution = int(arguments[0]) if arguments else 96
    main(resolution, arguments[1:] or list(MODEL_NAMES), "--uint8-weights" in flags)
