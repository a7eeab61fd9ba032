"""How accel opens onnxruntime as its reference: exact integer kernels on every CPU, and what ran.

onnxruntime's integer GEMM (MLAS) picks its kernel by the CPU it runs on. On x86 without a VNNI
instruction (AVX2-only CPUs such as AMD EPYC Zen 3, AVX-512 Skylake, SSE4.1) the uint8 × int8
kernel multiplies with `vpmaddubsw`, which adds each pair of u8·s8 products in int16 with
saturation: a 1×1 conv over two channels with x = 255 and w = 127 returns 32,767 instead of
64,770. An accelerator's int32 accumulator has no such step, so a reference that saturates would
report correct accel outputs as mismatches. uint8 × uint8 and int8 × int8 products go through
kernels that widen to int32 first and are exact on every CPU.

`exact_integer_model` therefore re-encodes the constant int8 weights of every uint8-activation
integer op as uint8 (w + 128 with zero point + 128: the same real values, the same w − zp) when
the running CPU's u8s8 kernel saturates; onnxruntime's own switch for this
(`session.x64quantprecision`) acts only with graph optimizations on, misses QLinearMatMul and
breaks int8-activation QGemm, so accel does the rewrite itself. Whether the kernel saturates is
measured, not guessed from CPU names: `u8s8_saturates` runs the two-product conv above once per
process. `provenance` is what summary.json records about the reference.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from accel.check.onnx_types import INT8, UINT8, element_types
from accel.functional.kernels.cpu import cpu_flags, float_path, integer_path

# Integer ops with a constant weight operand: (activation input, weight, weight zero point).
_WEIGHT_OPERANDS = {
    "QLinearConv": (0, 3, 5),
    "QLinearMatMul": (0, 3, 5),
    "QGemm": (0, 3, 5),
    "MatMulInteger": (0, 1, 3),
    "ConvInteger": (0, 1, 3),
    "MatMulIntegerToFloat": (0, 1, 5),
}


def _probe_model(onnx: Any) -> Any:
    """QLinearConv over two channels of x = 255 with w = 127, output scale 1024: exact 63."""
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    constants = {
        "x_scale": np.float32(1), "x_zero": np.uint8(0),
        "w": np.full((1, 2, 1, 1), 127, np.int8), "w_scale": np.float32(1), "w_zero": np.int8(0),
        "y_scale": np.float32(1024), "y_zero": np.uint8(0),
    }  # fmt: skip
    node = helper.make_node("QLinearConv", ["x", *constants], ["y"])
    graph = helper.make_graph(
        [node], "u8s8_probe",
        [helper.make_tensor_value_info("x", UINT8, [1, 2, 1, 1])],
        [helper.make_tensor_value_info("y", UINT8, [1, 1, 1, 1])],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in constants.items()],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


@cache
def u8s8_saturates() -> bool:
    """Whether this CPU's onnxruntime u8s8 GEMM saturates int16 pairs (measured once)."""
    import onnx
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(
        _probe_model(onnx).SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    (y,) = session.run(None, {"x": np.full((1, 2, 1, 1), 255, np.uint8)})
    return int(np.asarray(y).ravel()[0]) != round(2 * 255 * 127 / 1024)


def reencode_u8s8_weights(model: Any) -> int:
    """Re-encode, in place, the int8 weights (and weight zero points) of every uint8-activation
    integer op as uint8; returns how many ops changed. A constant becomes a uint8 constant; a
    computed or fed int8 tensor is shifted by Cast → Add 128 → Cast nodes before its reader."""
    from onnx import helper, numpy_helper

    graph = model.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    types = element_types(graph)
    as_uint8: dict[str, str] = {}
    nodes: list[Any] = []

    def shifted(name: str) -> str:
        """The uint8 tensor holding `name` + 128 ("" is an absent zero point: 0)."""
        if name in as_uint8:
            return as_uint8[name]
        new = as_uint8[name] = f"{name or 'zero_point'}__as_uint8_{len(as_uint8)}"
        if name == "" or name in initializers:
            values = numpy_helper.to_array(initializers[name]) if name else np.int8(0)
            codes = (np.asarray(values).astype(np.int16) + 128).astype(np.uint8)
            graph.initializer.append(numpy_helper.from_array(codes, new))
            return new
        offset = f"{new}__offset"
        graph.initializer.append(numpy_helper.from_array(np.asarray(128, np.int32), offset))
        nodes.extend([
            helper.make_node("Cast", [name], [f"{new}__wide"], to=6),  # INT32
            helper.make_node("Add", [f"{new}__wide", offset], [f"{new}__sum"]),
            helper.make_node("Cast", [f"{new}__sum"], [new], to=UINT8),
        ])  # fmt: skip
        return new

    changed = 0
    original = list(graph.node)
    for node in original:
        operands = _WEIGHT_OPERANDS.get(node.op_type)
        if operands is not None and node.domain in ("", "ai.onnx", "com.microsoft"):
            activation, weight, zero = operands
            weight_name = node.input[weight] if weight < len(node.input) else ""
            zero_name = node.input[zero] if zero < len(node.input) else ""
            if types.get(node.input[activation]) == UINT8 and types.get(weight_name) == INT8:
                _set_input(node, weight, shifted(weight_name))
                _set_input(node, zero, shifted(zero_name))
                changed += 1
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    return changed


def _set_input(node: Any, index: int, name: str) -> None:
    while len(node.input) <= index:
        node.input.append("")
    node.input[index] = name


def exact_integer_model(model: Any) -> tuple[Any, str]:
    """`model` (an onnx.ModelProto) made to run exactly on this CPU, and a one-line note of what
    was done ("" when nothing was needed). The caller's model is not changed."""
    if not u8s8_saturates():
        return model, ""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    changed = reencode_u8s8_weights(copy)
    if not changed:
        return model, ""
    return copy, (
        f"this CPU's onnxruntime u8s8 GEMM ({integer_path()}) saturates int16 pairs; "
        f"int8 weights of {changed} uint8-activation op(s) re-encoded as uint8 (exact u8u8 kernel)"
    )


def reference_options(ort: Any, optimize: bool = False, threads: int = 1) -> Any:
    """SessionOptions for a reference run: one intra-op thread (MLAS's float kernels split work
    by thread count, which changes their summation order), errors-only logging, graph
    optimizations off unless `optimize` (a user model runs as ORT would run it)."""
    options = ort.SessionOptions()
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # ceil_mode pools disagree with ONNX shape inference; by design
    # Kernels warn through the default logger (Resize's tf_half_pixel_for_nn coordinates,
    # deprecated since opset 13 yet still computed, which a checked resize may use).
    ort.set_default_logger_severity(3)
    return options


def provenance(note: str = "") -> dict[str, Any]:
    """What summary.json's `functional` section records about an onnxruntime reference."""
    import onnxruntime as ort

    record: dict[str, Any] = {
        "reference_version": f"onnxruntime {ort.__version__}",
        "cpu_float_kernels": float_path(),
        "cpu_integer_kernels": integer_path(),
        "cpu_flags": sorted(f for f in cpu_flags() if f.startswith(("avx", "fma", "amx", "sse4"))),
        "u8s8_gemm_saturates": u8s8_saturates(),
    }
    if note:
        record["reference_adjustment"] = note
    return record
