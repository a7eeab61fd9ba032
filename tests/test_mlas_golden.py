"""Every modelled MLAS float path checked on every CPU, against recorded golden outputs.

A machine can compare accel's emulation with onnxruntime only on its own CPU path
(tests/test_mlas_softmax.py does); the golden files under tests/data/mlas_golden, recorded by
`python tools/record_mlas_golden.py`, carry the other paths' outputs to every machine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from accel.errors import InputError
from accel.functional.kernels.cpu import MODELLED_FLOAT_PATHS, float_path, nchwc_block_size
from accel.functional.kernels.mlas_softmax import softmax

sys.path.insert(0, str(Path(__file__).parents[1] / "tools"))
from record_mlas_golden import CASES, case_input

GOLDEN = Path(__file__).parent / "data" / "mlas_golden"


def _golden(path: str) -> dict[str, object]:
    return dict(json.loads((GOLDEN / f"softmax_{path}.json").read_text()))


@pytest.mark.parametrize("path", MODELLED_FLOAT_PATHS)
def test_softmax_emulation_matches_the_recorded_path(path: str) -> None:
    document = _golden(path)
    assert document["path"] == path and len(document["cases"]) == len(CASES)  # type: ignore[arg-type]
    for record in document["cases"]:  # type: ignore[attr-defined]
        case = tuple(record["case"])
        got = softmax(case_input(*case), axis=1, path=path).view(np.int32).ravel()
        np.testing.assert_array_equal(got, np.asarray(record["bits"]), err_msg=str(case))


def test_the_paths_differ_so_each_must_be_modelled() -> None:
    """The two kernels round apart on some rows: one emulation could not serve both CPUs."""
    avx512, avx2 = _golden("avx512f")["cases"], _golden("avx2-fma3")["cases"]
    differing = [a["case"] for a, b in zip(avx512, avx2, strict=True) if a["bits"] != b["bits"]]  # type: ignore[call-overload]
    assert len(differing) >= 3, differing


def test_an_unmodelled_cpu_path_is_refused_in_one_line() -> None:
    logits = case_input(*CASES[2])
    with pytest.raises(InputError, match=r"^float32 Softmax: accel reproduces .*not this CPU's "
                                         r"arm64-neon kernels$"):  # fmt: skip
        softmax(logits, path="arm64-neon")


def test_cpu_paths_are_named_as_mlas_dispatches_them() -> None:
    from accel.functional.kernels.cpu import float_path as path_of

    assert path_of(frozenset({"avx2", "fma", "avx512f"}), "x86_64") == "avx512f"
    assert path_of(frozenset({"avx", "avx2", "fma"}), "x86_64") == "avx2-fma3"
    assert path_of(frozenset({"avx", "avx2"}), "x86_64") == "avx"
    assert path_of(frozenset(), "x86_64") == "sse2"
    assert path_of(frozenset({"asimd"}), "aarch64") == "arm64-neon"
    assert nchwc_block_size("avx512f") == 16 and nchwc_block_size("avx2-fma3") == 8


def test_this_machine_runs_a_modelled_path_or_says_which() -> None:
    """CI prints the path; on a machine accel does not model the float islands are refused."""
    assert float_path() in (*MODELLED_FLOAT_PATHS, "avx", "sse2", "arm64-neon", "unknown")


def test_an_order_dependent_float_island_is_refused_on_an_unmodelled_cpu(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On ARM64 (or AVX without FMA) a float conv/pool/softmax island cannot be reproduced bit
    for bit: the check refuses it in one line naming the CPU's path, instead of mismatching."""
    from accel.functional import float_path
    from accel.functional.kernels import cpu
    from accel.model.network import LayerEntry, Network, Shape
    from accel.model.pool_ops import GlobalAvgPool
    from accel.model.quantized import QuantizedNetwork

    network = Network.build("gap", Shape(4, 3, 3), [LayerEntry("pool", GlobalAvgPool())])
    qnet = QuantizedNetwork(network, {}, {}, {})
    monkeypatch.setattr(cpu, "float_path", lambda *args: "arm64-neon")
    x = np.zeros((1, 4, 3, 3), np.float32)
    with pytest.raises(InputError, match=r"^layer 'pool': float32 global_avgpool island: accel "
                                         r"reproduces .* not this CPU's arm64-neon kernels$"):  # fmt: skip
        float_path.run_float_layer(qnet, network.layers[0], {"input": x}, {"input": x})
