"""onnxruntime as an exact reference on every CPU (accel.check.ort_session)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from accel.check.ort_session import (
    exact_integer_model,
    provenance,
    reencode_u8s8_weights,
    reference_options,
    u8s8_saturates,
)
from accel.functional.kernels.cpu import integer_path

ort = pytest.importorskip("onnxruntime")


def _pair_conv(feed_weights: bool) -> onnx.ModelProto:
    """QLinearConv over two channels, uint8 x = 255, int8 w = 127, y scale 1024: exact 63; an
    int16 pair sum saturates to 32767 and gives 32."""
    constants = {
        "xs": np.float32(1), "xz": np.uint8(0), "w": np.full((1, 2, 1, 1), 127, np.int8),
        "ws": np.float32(1), "wz": np.int8(0), "ys": np.float32(1024), "yz": np.uint8(0),
    }  # fmt: skip
    inputs = [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 2, 1, 1])]
    if feed_weights:
        inputs.append(helper.make_tensor_value_info("w", TensorProto.INT8, [1, 2, 1, 1]))
        del constants["w"]
    node = helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"])
    graph = helper.make_graph(
        [node], "pair", inputs, [helper.make_tensor_value_info("y", TensorProto.UINT8, None)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in constants.items()],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def _run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> int:
    session = ort.InferenceSession(model.SerializeToString(), reference_options(ort),
                                   providers=["CPUExecutionProvider"])  # fmt: skip
    return int(np.asarray(session.run(None, feeds)[0]).ravel()[0])


def test_the_probe_agrees_with_the_cpu_features() -> None:
    """vpmaddubsw (AVX2 or AVX-512BW without VNNI) saturates; VNNI, AMX and the SSE/NEON
    widening kernels do not. The probe measures it; the flags say why."""
    assert u8s8_saturates() == (integer_path() in ("avx2", "avx512bw"))


def test_onnxruntime_as_is_saturates_exactly_where_the_probe_says() -> None:
    raw = _run(_pair_conv(False), {"x": np.full((1, 2, 1, 1), 255, np.uint8)})
    assert raw == (32 if u8s8_saturates() else 63)


@pytest.mark.parametrize("feed_weights", [False, True])
def test_reencoded_weights_are_exact_on_every_cpu(feed_weights: bool) -> None:
    model = _pair_conv(feed_weights)
    assert reencode_u8s8_weights(model) == 1
    conv = next(node for node in model.graph.node if node.op_type == "QLinearConv")
    assert conv.input[3].endswith("__as_uint8_0") and conv.input[5].endswith("__as_uint8_1")
    feeds = {"x": np.full((1, 2, 1, 1), 255, np.uint8)}
    if feed_weights:
        feeds["w"] = np.full((1, 2, 1, 1), 127, np.int8)
    assert _run(model, feeds) == 63


def test_int8_activations_are_left_alone() -> None:
    """s8s8 kernels are exact, and ORT has no int8-activation × uint8-weight kernel."""
    model = _pair_conv(False)
    for tensor in model.graph.initializer:
        if tensor.name in ("xz", "yz"):
            tensor.CopyFrom(numpy_helper.from_array(np.int8(0), tensor.name))
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.INT8
    model.graph.output[0].type.tensor_type.elem_type = TensorProto.INT8
    assert reencode_u8s8_weights(model) == 0
    assert _run(model, {"x": np.full((1, 2, 1, 1), 127, np.int8)}) == round(2 * 127 * 127 / 1024)


def test_the_adjustment_is_named_only_where_it_was_needed() -> None:
    model = _pair_conv(False)
    exact, note = exact_integer_model(model)
    assert (exact is not model) == u8s8_saturates() == bool(note)
    assert model.graph.node[0].input[3] == "w"  # the caller's model is untouched
    record = provenance(note)
    assert record["reference_version"] == f"onnxruntime {ort.__version__}"
    assert record["u8s8_gemm_saturates"] == u8s8_saturates()
    assert ("reference_adjustment" in record) == bool(note)
