"""A training step: three GEMMs per conv / fc, vector-unit backward, updates, memory, CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import chip_with, run_accel

from accel.io.sources import load_network
from accel.model.network import INPUT, Layer, LayerEntry, Network
from accel.model.ops import Conv, Flatten, FullyConnected, Shape
from accel.model.pool_ops import MaxPool
from accel.model.training import training_step
from accel.simulation import simulate_network, simulate_training

ZOO = ("lenet5", "alexnet", "vgg16", "vgg19", "mobilenet_v1", "mobilenet_v2",
       "mobilenet_v3_large", "mobilenet_v3_small", "resnet18", "resnet34", "resnet50",
       "googlenet", "densenet121")  # fmt: skip


def _forward_macs(layer: Layer) -> int:
    """MACs per image counted from the layer's hyper-parameters, not from its GEMM view."""
    out = layer.output_shape
    if isinstance(layer.op, FullyConnected):
        return layer.input_shapes[0].elements * layer.op.out_features
    assert isinstance(layer.op, Conv)
    kernel_h, kernel_w = layer.op.kernel
    per_output = kernel_h * kernel_w * layer.input_shapes[0].channels // layer.op.groups
    return out.channels * out.height * out.width * per_output


@pytest.mark.parametrize("name", ZOO)
def test_training_macs_are_forward_plus_dx_plus_dw_for_every_layer(name: str) -> None:
    network = load_network(name)
    batch = 2
    result = simulate_training(network, chip_with(array__precision="bf16"), batch)
    rows = {(layer.name, layer.pass_name): layer.macs for layer in result.layers}
    total = 0
    for layer in network.layers:
        if not layer.uses_array:
            continue
        forward = _forward_macs(layer) * batch
        first = layer.inputs == (INPUT,)  # reads the image: no gradient to pass back
        assert rows[(layer.name, "forward")] == forward
        assert rows[(f"{layer.name}.dW", "backward_weight")] == forward
        assert rows.get((f"{layer.name}.dX", "backward_data"), 0) == (0 if first else forward)
        total += forward * (2 if first else 3)
    training = result.summary()["training"]
    assert training["macs"] == total == sum(rows.values())
    assert training["forward_macs"] + training["backward_macs"] == total
    assert training["backward_weight_macs"] == training["forward_macs"]


def _small() -> Network:
    entries = [
        LayerEntry("conv", Conv(kernel=3, padding=1, out_channels=2, activation="relu")),
        LayerEntry("pool", MaxPool(kernel=2, stride=2)),
        LayerEntry("flat", Flatten()),
        LayerEntry("fc", FullyConnected(out_features=3)),
    ]
    return Network.build("small", Shape(1, 4, 4), entries)


def test_stored_activations_are_what_the_backward_pass_reads() -> None:
    # Kept across the turn: the image (conv dW), the conv's output (its ReLU mask), the pool's
    # argmax (one per output) and output (fc dW, through the flatten), and the probabilities:
    # 16 + 32 + 8 + 8 + 3 elements per image.
    step = training_step(_small(), batch=3, optimizer="sgd", element_bytes=2)
    memory = step.memory(element_bytes=2)
    assert memory.activations_per_image == 2 * (16 + 32 + 8 + 8 + 3)
    assert memory.activations == 3 * memory.activations_per_image
    # Weights (18 + 8·3) in bf16 and biases (2 + 3) in 4 bytes; gradients alike; SGD keeps a
    # velocity and an fp32 master copy of each of the 47 parameters.
    assert memory.weights == memory.gradients == 2 * (18 + 24) + 4 * 5
    assert memory.optimizer_state == 47 * 2 * 4
    assert memory.peak_live_per_image >= memory.activations_per_image
    names = [(work.name, work.pass_name) for work in step.items]
    assert names == [
        ("conv", "forward"), ("pool", "forward"), ("flat", "forward"), ("fc", "forward"),
        ("loss", "forward"), ("loss.grad", "backward_data"),
        ("fc.dX", "backward_data"), ("fc.dW", "backward_weight"),
        ("flat", "backward_data"), ("pool", "backward_data"),
        ("conv.activation", "backward_data"), ("conv.dW", "backward_weight"),
        ("conv.update", "update"), ("fc.update", "update"),
    ]


def test_recompute_keeps_only_the_conv_and_fc_inputs_and_runs_the_rest_again() -> None:
    step = training_step(_small(), 3, "sgd", element_bytes=2, activations="recompute")
    # Kept: the image (conv dW), the pool's output (fc dW) and the probabilities. The pool's
    # backward needs its argmax: the pool runs again, and the conv before it, whose output
    # (the ReLU mask too) was not kept.
    assert step.memory(2).activations_per_image == 2 * (16 + 8 + 3)
    names = [(work.name, work.pass_name) for work in step.items]
    assert names[8:13] == [
        ("flat", "backward_data"), ("conv.recompute", "forward"), ("pool.recompute", "forward"),
        ("pool", "backward_data"), ("conv.activation", "backward_data"),
    ]
    chip = chip_with(array__precision="bf16", training__activations="recompute")
    training = simulate_training(_small(), chip, 3).summary()["training"]
    conv = 2 * 16 * 9 * 3  # 2 channels × 16 pixels × 9 taps, 3 images
    assert training["recompute_macs"] == conv
    assert training["forward_macs"] == 2 * conv + 8 * 3 * 3


def test_max_batch_is_the_largest_whose_step_fits_the_dram() -> None:
    network = load_network("resnet18")
    chip = chip_with(array__precision="bf16", dram__capacity_mib=512)
    training = simulate_training(network, chip, 1, "adam").summary()["training"]
    memory = training["memory_bytes"]
    persistent = memory["weights"] + memory["gradients"] + memory["optimizer_state"]
    per_image = training["per_image_bytes"]["peak_live"]
    capacity = 512 * 2**20
    assert persistent + training["max_batch"] * per_image <= capacity
    assert persistent + (training["max_batch"] + 1) * per_image > capacity
    # Adam in bf16: two fp32 moments and an fp32 master copy per parameter.
    assert memory["optimizer_state"] == network.params * 3 * 4
    assert training["update_ops"] == network.params * (12 + 1)


def test_vgg16_fp32_stored_activations_per_image() -> None:
    network = load_network("vgg16")
    training = simulate_training(network, chip_with(array__precision="fp32"), 1)
    section = training.summary()["training"]
    # Every forward tensor once (the image and each layer's output; the flatten is its input
    # viewed flat): 15,237,608 values, the sum of CS231n's VGGNet table.
    forward = network.input_shape.elements + sum(
        layer.ofmap_elements for layer in network.layers if layer.kind != "flatten"
    )
    assert forward == 15_237_608
    # Kept for the backward pass: all of them but the logits, plus each max pool's argmax (one
    # per pooled output) and the softmax probabilities.
    argmax = sum(layer.ofmap_elements for layer in network.layers if layer.kind == "maxpool")
    assert argmax == 1_530_368
    assert section["per_image_bytes"]["activations"] == 4 * (forward - 1000 + argmax + 1000)
    assert section["per_image_bytes"]["activations"] == 67_071_904
    assert section["memory_bytes"]["weights"] == 4 * 138_357_544


def test_a_tensor_read_by_several_layers_sums_their_gradients() -> None:
    network = load_network("resnet18")
    result = simulate_training(network, chip_with(array__precision="bf16"), 2)
    sums = {layer.name: layer.mapping.vector_ops for layer in result.layers
            if layer.name.endswith(".grad_sum")}  # fmt: skip
    readers: dict[str, int] = {}
    for layer in network.layers:
        for source in layer.inputs:
            readers[source] = readers.get(source, 0) + 1
    # Every block input is read by the block's first conv and by its residual add (or the
    # downsample): one add per element of the second gradient, for both images.
    assert sums == {f"{name}.grad_sum": 2 * network.layer(name).ofmap_elements
                    for name, count in readers.items() if count == 2}  # fmt: skip
    assert sums["maxpool.grad_sum"] == 2 * 64 * 56 * 56


def test_depthwise_backward_follows_the_chip_to_the_vector_unit() -> None:
    network = load_network("mobilenet_v2")
    for unit in ("array", "vector"):
        chip = chip_with(array__precision="bf16", array__depthwise_unit=unit)
        result = simulate_training(network, chip, 1)
        units = {layer.mapping.unit for layer in result.layers
                 if layer.name.startswith("features.2.dw.d")}  # fmt: skip
        assert units == {unit}


def test_inference_rows_have_no_pass_column() -> None:
    network = load_network("lenet5")
    rows = simulate_network(network, chip_with()).rows()
    assert all("pass" not in row for row in rows)
    assert "training" not in simulate_network(network, chip_with()).summary()


def test_cli_training_writes_the_pass_column_and_the_training_block(
    tmp_path: Path, write_yaml
) -> None:  # type: ignore[no-untyped-def]
    chip = write_yaml("array: {precision: bf16}\n")
    out = tmp_path / "run"
    result = run_accel("simulate-network", "-n", "lenet5", "-c", str(chip), "--training",
                       "--optimizer", "adam", "--batch", "4", "--out", str(out), "-q")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "training step (adam, bf16)" in result.stdout
    with (out / "layers.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert {row["pass"] for row in rows} == {"forward", "backward_data", "backward_weight",
                                            "update"}  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    training = summary["training"]
    assert set(training["memory_bytes"]) >= {"weights", "gradients", "optimizer_state",
                                             "activations"}  # fmt: skip
    assert training["step_cycles"] == summary["total_cycles"]
    assert training["macs"] == sum(int(row["macs"]) for row in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--optimizer", "rmsprop"), "error: --optimizer must be sgd or adam, not 'rmsprop'"),
        (("--check",), "error: --training simulates cycles, traffic and memory only: it cannot "
                       "be combined with --check, --inputs or --dump"),
    ],
)
def test_cli_training_refuses_bad_options(args: tuple[str, ...], message: str) -> None:
    result = run_accel("simulate-network", "-n", "lenet5", "--training", *args, "-q")
    assert result.returncode == 2
    assert result.stderr.strip() == message


def test_the_run_report_shows_time_per_pass_and_the_memory_of_a_training_step(
    tmp_path: Path,
) -> None:
    from accel.report.run_report import write_run_report
    from accel.results import write_results

    network = load_network("lenet5")
    for training in (True, False):
        chip = chip_with(array__precision="fp16")
        result = (simulate_training(network, chip, 2, "adam") if training
                  else simulate_network(network, chip, 2))  # fmt: skip
        out = tmp_path / str(training)
        write_results(result, out)
        html = write_run_report(out, result, None).read_text()
        assert ("Training step" in html) is training
        assert ("cycles per pass" in html) is training
        assert ("backward: weights (dW)" in html) is training
