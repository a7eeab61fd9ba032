"""Build and run single-node ONNX models in onnxruntime, the oracle for bit-exactness tests.

Every test in tests/test_kernels.py compares an accel kernel against what onnxruntime's CPU
execution provider produces for a one-node graph. Graph optimisations are disabled so that the
node we build is the kernel that runs (no QDQ fusion, no constant folding), and one intra-op
thread keeps runs deterministic and cheap on the 2-core CI machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from accel.check.ort_session import exact_integer_model, reference_options

# opset 21 is the newest that onnxruntime 1.18+ fully implements for the ops we use; com.microsoft
# contrib ops are all version 1.
ONNX_OPSET = 21
MS_DOMAIN = "com.microsoft"

_NP_TO_ONNX = {
    np.dtype(np.int8): onnx.TensorProto.INT8,
    np.dtype(np.uint8): onnx.TensorProto.UINT8,
    np.dtype(np.int32): onnx.TensorProto.INT32,
    np.dtype(np.float32): onnx.TensorProto.FLOAT,
}


@dataclass
class Node:
    """One graph node: inputs are names of graph inputs, initializers or earlier node outputs."""

    op_type: str
    inputs: Sequence[str]
    outputs: Sequence[str]
    attrs: Mapping[str, object] = field(default_factory=dict)
    domain: str = ""


def make_model(
    nodes: Sequence[Node],
    feeds: Mapping[str, np.ndarray],
    consts: Mapping[str, np.ndarray],
    outputs: Mapping[str, np.dtype],
) -> onnx.ModelProto:
    """A model whose graph inputs are `feeds` and whose initializers are `consts`."""
    graph_inputs = [
        helper.make_tensor_value_info(name, _NP_TO_ONNX[arr.dtype], list(arr.shape))
        for name, arr in feeds.items()
    ]
    graph_outputs = [
        helper.make_tensor_value_info(name, _NP_TO_ONNX[np.dtype(dt)], None)
        for name, dt in outputs.items()
    ]
    inits = [numpy_helper.from_array(np.asarray(arr), name) for name, arr in consts.items()]
    onnx_nodes = [
        helper.make_node(
            n.op_type, list(n.inputs), list(n.outputs), domain=n.domain or None, **dict(n.attrs)
        )
        for n in nodes
    ]
    graph = helper.make_graph(onnx_nodes, "single_node", graph_inputs, graph_outputs, inits)
    opsets = [helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid(MS_DOMAIN, 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 10  # onnxruntime 1.18+ reads IR 10; newer onnx writes newer IRs by default
    return model


def run_model(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """Run on the CPU EP with graph optimisations off and a single thread, as accel's check does:
    on a CPU whose u8s8 GEMM saturates, int8 weights of uint8-activation ops are re-encoded as
    uint8 first (`accel.check.ort_session`), so the oracle is exact on every CPU."""
    exact, _ = exact_integer_model(model)
    sess = ort.InferenceSession(
        exact.SerializeToString(), reference_options(ort), providers=["CPUExecutionProvider"]
    )
    return list(sess.run(None, dict(feeds)))


def run_node(
    op_type: str,
    inputs: Sequence[np.ndarray | None],
    out_dtype: np.dtype | type,
    *,
    attrs: Mapping[str, object] | None = None,
    domain: str = "",
    feed_indices: Sequence[int] = (0,),
) -> np.ndarray:
    """Run one node. Inputs listed in `feed_indices` are graph inputs, the rest initializers.

    A None input is an omitted optional input (an empty name in the node).
    """
    names: list[str] = []
    feeds: dict[str, np.ndarray] = {}
    consts: dict[str, np.ndarray] = {}
    for i, arr in enumerate(inputs):
        if arr is None:
            names.append("")
            continue
        name = f"in{i}"
        names.append(name)
        (feeds if i in feed_indices else consts)[name] = np.asarray(arr)
    node = Node(op_type, names, ["out"], attrs or {}, domain)
    model = make_model([node], feeds, consts, {"out": np.dtype(out_dtype)})
    return run_model(model, feeds)[0]


def scalar(value: float | int, dtype: np.dtype | type) -> np.ndarray:
    """A 0-d tensor, the form QLinear* ops take for per-tensor scales and zero points."""
    return np.array(value, dtype=dtype)
