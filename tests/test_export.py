"""accel export: ONNX (round-trips through the importer and runs in onnxruntime), SCALE-Sim CSV
(exact ofmaps and MACs under SCALE-Sim's conventions), workload YAML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import run_accel

from accel.errors import InputError
from accel.functional.weights import random_weights
from accel.io.export import export_network, scalesim_csv
from accel.io.onnx_import import import_onnx
from accel.io.sources import load_network
from accel.io.workload_yaml import parse_workload
from accel.model.ops import Conv, FullyConnected

ZOO = ["lenet5", "googlenet", "mobilenet_v2", "mobilenet_v3_small", "resnet18"]


@pytest.mark.parametrize("name", ZOO)
def test_onnx_export_round_trips(name: str, tmp_path: Path) -> None:
    network = load_network(name)
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(export_network(network, "onnx", seed=3))
    onnx.checker.check_model(onnx.load(str(path)))
    imported = import_onnx(path)
    back = imported.network
    assert (back.macs, back.params) == (network.macs, network.params)
    # a flatten of a (C, 1, 1) tensor is a no-op that the importer does not keep
    kept = [(layer.name, layer.kind) for layer in network
            if not (layer.kind == "flatten" and layer.input_shapes[0].height == 1)]
    assert [(layer.name, layer.kind) for layer in back] == kept
    expected = random_weights(network, seed=3)
    assert set(imported.float_weights) == set(expected)
    for layer, weights in expected.items():
        op = network.layer(layer).op
        assert isinstance(op, Conv | FullyConnected)
        np.testing.assert_array_equal(imported.float_weights[layer].weight, weights.weight)
        bias = weights.bias if op.bias or op.batchnorm else np.zeros_like(weights.bias)
        np.testing.assert_array_equal(imported.float_weights[layer].bias, bias)


def test_exported_onnx_runs_in_onnxruntime(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    path = tmp_path / "googlenet.onnx"
    path.write_bytes(export_network(load_network("googlenet"), "onnx"))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    image = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    (logits,) = session.run(None, {"input": image})
    assert logits.shape == (1, 1000) and np.isfinite(logits).all()


def test_scalesim_csv_rows_keep_ofmap_and_macs() -> None:
    network = load_network("mobilenet_v2")
    lines = scalesim_csv(network).splitlines()
    assert lines[0].startswith("Layer name, IFMAP Height, IFMAP Width, Filter Height")
    rows = [[cell.strip() for cell in line.split(",")] for line in lines[1:]]
    assert len(rows) == sum(1 for layer in network if layer.uses_array)
    total = 0
    for row in rows:
        height, width, fh, fw, channels, filters, stride = map(int, row[1:8])
        out_h, out_w = -(-(height - fh) // stride) + 1, -(-(width - fw) // stride) + 1
        layer = network.layer(row[0])
        assert (out_h, out_w) == (layer.output_shape.height, layer.output_shape.width)
        total += out_h * out_w * fh * fw * channels * filters
    assert total == network.macs


def test_scalesim_csv_of_alexnet_conv1() -> None:
    assert scalesim_csv(load_network("alexnet")).splitlines()[1] == (
        "conv1, 227, 227, 11, 11, 3, 64, 4,"
    )


def test_scalesim_csv_round_trips_through_the_topology_loader(tmp_path: Path) -> None:
    scalesim = pytest.importorskip("accel.io.scalesim")
    network = load_network("resnet18")
    path = tmp_path / "resnet18.csv"
    path.write_text(scalesim_csv(network))
    assert scalesim.load_topology(path).macs == network.macs


def test_yaml_export_loads_back() -> None:
    import yaml

    network = load_network("mobilenet_v3_small")
    data = yaml.safe_load(export_network(network, "yaml"))
    back = parse_workload(data, "exported.yaml", {})
    assert (back.macs, back.params, len(back)) == (network.macs, network.params, len(network))


def test_quantized_export_is_a_qoperator_model_that_onnxruntime_runs(tmp_path: Path) -> None:
    import numpy as np
    import onnx
    import onnxruntime as ort

    network = load_network("lenet5")
    data = export_network(network, "onnx", quantized=True)
    model = onnx.load_from_string(data)
    ops = {node.op_type for node in model.graph.node}
    assert {"QuantizeLinear", "QLinearConv"} <= ops and "Conv" not in ops
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: np.zeros((1, 1, 32, 32), np.float32)}
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, feed), strict=True))
    assert outputs["fc5"].dtype == np.int8 and outputs["fc5"].size == 10
    (tmp_path / "q.onnx").write_bytes(data)
    assert import_onnx(tmp_path / "q.onnx").network.macs == network.macs


def test_quantized_applies_only_to_onnx() -> None:
    with pytest.raises(InputError, match=r"--quantized applies to the onnx format, not 'yaml'"):
        export_network(load_network("lenet5"), "yaml", quantized=True)


def test_unknown_format_is_rejected() -> None:
    with pytest.raises(InputError, match=r"format must be one of onnx, scalesim-csv, yaml, "
                       r"not 'csv'"):
        export_network(load_network("lenet5"), "csv")


def test_cli_export_writes_files(tmp_path: Path) -> None:
    result = run_accel("export", "-n", "lenet5", "--format", "onnx", "--out",
                       str(tmp_path / "lenet5.onnx"))
    assert result.returncode == 0, result.stderr
    assert import_onnx(tmp_path / "lenet5.onnx").network.macs == load_network("lenet5").macs
    csv_text = run_accel("export", "-n", "lenet5", "--format", "scalesim-csv")
    assert csv_text.stdout.splitlines()[1] == "conv1, 32, 32, 5, 5, 1, 6, 1,"
    bad = run_accel("export", "-n", "lenet5", "--format", "yaml", "--quantized")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
