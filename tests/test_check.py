"""The comparison report (accel.check.compare): layers and other tensors counted apart."""

from __future__ import annotations

import numpy as np

from accel.check.compare import compare


def test_graph_outputs_and_inputs_never_count_as_layers() -> None:
    ours = {"conv": np.array([1, 2], np.int8), "input": np.array([3], np.int8),
            "output:logits": np.array([5, 6], np.int8)}  # fmt: skip
    theirs = {"conv": np.array([1, 2], np.int8), "input": np.array([4], np.int8),
              "output:logits": np.array([5, 7], np.int8)}  # fmt: skip
    report = compare(ours, theirs, "onnxruntime", "onnx").only_layers({"conv"})
    assert (report.mismatches, report.mismatched_tensors) == (0, ("input", "output:logits"))
    assert report.failed and report.as_dict()["mismatched_tensors"] == ["input", "output:logits"]


def test_a_mismatched_layer_is_a_layer_mismatch() -> None:
    ours, theirs = {"conv": np.array([1], np.int8)}, {"conv": np.array([2], np.int8)}
    report = compare(ours, theirs, "onnxruntime", "onnx").only_layers({"conv"})
    assert (report.mismatches, report.mismatched_tensors, report.max_abs_diff) == (1, (), 1)
