"""Checking the engine's numbers against a trusted runtime, bit for bit, layer by layer.

`onnx` mode: the quantized network is exported as a QOperator ONNX model
(`accel.io.onnx_export`) whose graph outputs are every layer's int8 output, and run in
onnxruntime's CPU provider on the same float input. Graph optimizations are off and one thread
is used, so the integer kernels that run are the ones accel's semantics were verified against.
`tflite` mode: see `accel.functional.tflite_check` (TFLite's reference kernels, layer by layer).

onnxruntime and onnx are optional (`pip install "accel[check]"`) and imported only when a check
runs (`accel.functional.ort_graph.import_onnxruntime` says how to install them if missing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from accel.functional.qmodel import QuantizedNetwork

IntArray = npt.NDArray[np.integer]
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class CheckReport:
    """Outcome of a bit-for-bit comparison (the summary.json `functional` section)."""

    reference: str
    mode: str
    layers_checked: int
    mismatched_layers: tuple[str, ...]
    mismatched_elements: int
    max_abs_diff: int
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def mismatches(self) -> int:
        """Number of layers whose output differs anywhere."""
        return len(self.mismatched_layers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "mode": self.mode,
            "layers_checked": self.layers_checked,
            "mismatches": self.mismatches,
            "mismatched_layers": list(self.mismatched_layers),
            "mismatched_elements": self.mismatched_elements,
            "max_abs_diff": self.max_abs_diff,
            **self.extra,
        }


def compare(
    ours: Mapping[str, IntArray],
    reference: Mapping[str, IntArray],
    reference_name: str,
    mode: str,
) -> CheckReport:
    """Compare every tensor `reference` has; shapes must agree."""
    mismatched, elements, worst = [], 0, 0
    for name, expected in reference.items():
        got = np.asarray(ours[name])
        if got.shape != expected.shape:
            raise AssertionError(f"{name}: accel shape {got.shape} != reference {expected.shape}")
        diff = np.abs(got.astype(np.int32) - expected.astype(np.int32))
        wrong = int(np.count_nonzero(diff))
        if wrong:
            mismatched.append(name)
            elements += wrong
            worst = max(worst, int(diff.max()))
    return CheckReport(reference_name, mode, len(reference), tuple(mismatched), elements, worst)


def onnxruntime_outputs(
    qnet: QuantizedNetwork, inputs: Mapping[str, F32], threads: int = 1
) -> dict[str, IntArray]:
    """Run the exported QOperator model in onnxruntime; every tensor by its accel name."""
    from accel.functional.ort_graph import import_onnxruntime
    from accel.io.onnx_export import build_quantized_onnx, output_names

    _, ort = import_onnxruntime()

    batch = next(iter(inputs.values())).shape[0]
    model = build_quantized_onnx(qnet, batch)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # ceil_mode pools disagree with ONNX shape inference; by design
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    names = output_names(qnet)
    feeds = {
        name: np.ascontiguousarray(inputs[name], np.float32) for name, _ in qnet.network.inputs
    }
    results = session.run(list(names.values()), feeds)
    return dict(zip(names, results, strict=True))


def check_onnxruntime(
    qnet: QuantizedNetwork, ours: Mapping[str, IntArray], inputs: Mapping[str, F32]
) -> CheckReport:
    """Compare the engine's `onnx`-mode tensors with onnxruntime's on the same float input."""
    report = compare(ours, onnxruntime_outputs(qnet, inputs), "onnxruntime", "onnx")
    # The quantized graph inputs are compared too, but only layers are counted as checked.
    return replace(report, layers_checked=len(qnet.network.layers))

