"""Checking the engine's numbers against a trusted runtime, bit for bit, layer by layer.

`onnx` mode: the quantized network is exported as a QOperator ONNX model
(`accel.io.onnx_export`) whose graph outputs are every layer's int8 output, and run in
onnxruntime's CPU provider on the same float input. Graph optimizations are off and one thread
is used, so the integer kernels that run are the ones accel's semantics were verified against.
`tflite` mode: see `accel.check.tflite_check` (TFLite's reference kernels, layer by layer).

onnxruntime and onnx are optional (`pip install "accel-simulator[check]"`) and imported only
when a check runs (`accel.check.ort_graph.import_onnxruntime` says how to install them if missing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from accel.model.quantized import QuantizedNetwork

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
    # Other compared tensors that differ: graph inputs' codes, final outputs ("output:NAME").
    mismatched_tensors: tuple[str, ...] = ()

    @property
    def mismatches(self) -> int:
        """Number of layers whose output differs anywhere (at most `layers_checked`)."""
        return len(self.mismatched_layers)

    @property
    def failed(self) -> bool:
        """Whether anything compared differs: a layer, a graph input or a final output."""
        return bool(self.mismatched_layers or self.mismatched_tensors)

    def only_layers(self, layers: set[str]) -> CheckReport:
        """The report with mismatched names that are not among `layers` moved apart."""
        return replace(
            self,
            mismatched_layers=tuple(n for n in self.mismatched_layers if n in layers),
            mismatched_tensors=self.mismatched_tensors
            + tuple(n for n in self.mismatched_layers if n not in layers),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "mode": self.mode,
            "layers_checked": self.layers_checked,
            "mismatches": self.mismatches,
            "mismatched_layers": list(self.mismatched_layers),
            "mismatched_tensors": list(self.mismatched_tensors),
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
) -> tuple[dict[str, IntArray], str]:
    """Run the exported QOperator model in onnxruntime: every tensor by its accel name, and the
    note of what was adjusted for exact integer kernels on this CPU ("" if nothing)."""
    from accel.check.ort_graph import import_onnxruntime
    from accel.check.ort_session import exact_integer_model, reference_options
    from accel.io.onnx_export import build_quantized_onnx, output_names

    _, ort = import_onnxruntime()

    batch = next(iter(inputs.values())).shape[0]
    model, note = exact_integer_model(build_quantized_onnx(qnet, batch))
    session = ort.InferenceSession(
        model.SerializeToString(), reference_options(ort, threads=threads),
        providers=["CPUExecutionProvider"],
    )
    names = output_names(qnet)
    feeds = {
        name: np.ascontiguousarray(inputs[name], np.float32) for name, _ in qnet.network.inputs
    }
    results = session.run(list(names.values()), feeds)
    return dict(zip(names, results, strict=True)), note


def _inexact_conv_transposes(
    qnet: QuantizedNetwork, ours: Mapping[str, IntArray]
) -> list[str]:
    """Transposed convs whose exported reference (integers in float32, see
    `accel.io.onnx_export`) may round a partial sum on these inputs."""
    from accel.io.onnx_export import conv_transpose_sum_bound

    return [
        layer.name for layer in qnet.network.layers
        if layer.kind == "conv_transpose"
        and conv_transpose_sum_bound(qnet, layer, np.asarray(ours[layer.inputs[0]])) >= 2**24
    ]  # fmt: skip


def check_onnxruntime(
    qnet: QuantizedNetwork, ours: Mapping[str, IntArray], inputs: Mapping[str, F32]
) -> CheckReport:
    """Compare the engine's `onnx`-mode tensors with onnxruntime's on the same float input."""
    from accel.check.ort_session import provenance

    reference, note = onnxruntime_outputs(qnet, inputs)
    report = compare(ours, reference, "onnxruntime", "onnx")
    extra = {"session_options": "graph optimizations off, 1 intra-op thread", **provenance(note)}
    inexact = _inexact_conv_transposes(qnet, ours)
    if inexact:  # the reference's float32 sums may round: say so rather than compare silently
        extra["inexact_reference_layers"] = inexact
    # The quantized graph inputs are compared too, but only layers are counted as checked.
    layers = {layer.name for layer in qnet.network.layers}
    return replace(report, layers_checked=len(layers), extra=extra).only_layers(layers)
