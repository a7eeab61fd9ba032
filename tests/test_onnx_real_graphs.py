"""Real exporter-produced ONNX graphs (torch's ONNX exporter, tools/export_torch_models.py).

tests/data/onnx holds the graphs with their weights' dims but not their data (external data that
was deleted), so each file is a few KiB. Each imports with a dynamic batch fixed by
--input-shape, and its MACs equal both an independent count (onnxruntime runs the graph with
zero weights and reports every conv/matmul output shape) and the published figure in
tests/data/onnx/published.csv. Regenerate the graphs: python tools/export_torch_models.py
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import onnx
import pytest
from onnx_macs import count_macs

from accel.errors import InputError
from accel.io.onnx_import import import_onnx

DATA = Path(__file__).parent / "data" / "onnx"
ROWS = list(csv.DictReader((DATA / "published.csv").open(encoding="utf-8")))


@pytest.mark.parametrize("row", ROWS, ids=[row["model"] for row in ROWS])
def test_real_graph_macs(row: dict[str, str]) -> None:
    path = DATA / f"{row['model']}.onnx"
    network = import_onnx(path, ["input=1x3x224x224"]).network
    model = onnx.load(str(path), load_external_data=False)
    assert network.macs == count_macs(model, {"input": [1, 3, 224, 224]}, run=True)
    assert abs(network.macs - int(row["macs"])) <= int(row["macs_tolerance"]), row["source"]
    kinds = Counter(layer.kind for layer in network)
    for pair in row["layers_with_kind"].split(";"):
        kind, count = pair.split("=")
        assert kinds[kind] == int(count), kind


def test_real_graph_dynamic_batch_needs_input_shape() -> None:
    with pytest.raises(InputError, match=r"resnet18.onnx: input 'input' has a dynamic dimension "
                       r"batch; give --input-shape input=1x3x224x224"):
        import_onnx(DATA / "resnet18.onnx")


def test_graph_files_stay_small() -> None:
    assert all(path.stat().st_size < 200_000 for path in DATA.glob("*.onnx"))
