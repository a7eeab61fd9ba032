"""How exact onnxruntime's integer kernels are on this CPU, three ways: as they run by default,
with onnxruntime's own `session.x64quantprecision` switch, and with accel's re-encoding of
uint8-activation int8 weights (`accel.check.ort_session.exact_integer_model`).

For QLinearConv, QLinearMatMul and QGemm with uint8×int8, int8×int8 and uint8×uint8 operands
(K = 64, seeded random codes, outputs scaled by 2**-13 so every code is in range), prints how
many of the 128 outputs differ from the exact int32 answer. On an x86 CPU without VNNI the
uint8×int8 rows are wrong by default; the switch fixes QLinearConv and QGemm only with graph
optimizations on, leaves QLinearMatMul wrong and refuses int8-activation kernels.

    python benchmarks/u8s8_reference.py
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from accel.check.ort_session import exact_integer_model
from accel.functional.kernels.cpu import float_path, integer_path

CHANNELS, OUTPUTS, SCALE = 64, 8, 2.0**13
LEVELS = ort.GraphOptimizationLevel


def _model(op: str, x_type: type, w_type: type, weights: np.ndarray) -> object:
    code = {np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8}
    shape = [1, CHANNELS, 4, 4] if op == "QLinearConv" else [16, CHANNELS]
    constants = [numpy_helper.from_array(np.asarray(v), k) for k, v in {
        "xs": np.float32(1), "xz": x_type(0), "w": weights, "ws": np.float32(1),
        "wz": w_type(0), "ys": np.float32(SCALE), "yz": x_type(0)}.items()]  # fmt: skip
    inputs = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"]
    if op == "QGemm":
        inputs = [*inputs[:6], "", *inputs[6:]]
    node = helper.make_node(op, inputs, ["y"], domain="com.microsoft" if op == "QGemm" else "")
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", code[x_type], shape)],
        [helper.make_tensor_value_info("y", code[x_type], None)], constants,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 10
    return model


def _wrong(model: object, x: np.ndarray, exact: np.ndarray, switch: bool) -> str:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # The switch acts only through a graph transformer, so it needs optimizations on.
    level = LEVELS.ORT_ENABLE_EXTENDED if switch else LEVELS.ORT_DISABLE_ALL
    options.graph_optimization_level = level
    if switch:
        options.add_session_config_entry("session.x64quantprecision", "1")
    try:
        session = ort.InferenceSession(model.SerializeToString(), options,  # type: ignore[attr-defined]
                                       providers=["CPUExecutionProvider"])  # fmt: skip
    except Exception:
        return "refused"
    return str(int(np.count_nonzero(session.run(None, {"x": x})[0] != exact)))


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"onnxruntime {ort.__version__}; MLAS paths: float {float_path()}, "
          f"integer {integer_path()}")
    print(f"{'op':14} {'operands':10} {'default':>8} {'x64quantprecision':>18} {'accel':>6}")
    for op in ("QLinearConv", "QLinearMatMul", "QGemm"):
        for x_type, w_type in ((np.uint8, np.int8), (np.int8, np.int8), (np.uint8, np.uint8)):
            shape = (1, CHANNELS, 4, 4) if op == "QLinearConv" else (16, CHANNELS)
            limits_x, limits_w = np.iinfo(x_type), np.iinfo(w_type)
            x = rng.integers(limits_x.min, limits_x.max + 1, shape).astype(x_type)
            w2 = rng.integers(limits_w.min, limits_w.max + 1, (OUTPUTS, CHANNELS)).astype(w_type)
            if op == "QLinearConv":
                weights = w2.reshape(OUTPUTS, CHANNELS, 1, 1)
                acc = np.einsum("nchw,oc->nohw", x.astype(np.int64), w2.astype(np.int64))
            else:
                weights = np.ascontiguousarray(w2.T)
                acc = x.astype(np.int64) @ weights.astype(np.int64)
            exact = np.clip(np.rint(acc / SCALE), limits_x.min, limits_x.max)
            model = _model(op, x_type, w_type, weights)
            accel_model, _ = exact_integer_model(model)
            print(f"{op:14} {x_type.__name__ + 'x' + w_type.__name__:10} "
                  f"{_wrong(model, x, exact, False):>8} {_wrong(model, x, exact, True):>18} "
                  f"{_wrong(accel_model, x, exact, False):>6}")


if __name__ == "__main__":
    main()
