"""Hostile input through the CLI entry point, in-process: every case ends with exit 0 or 2 and
one line on stderr (no traceback) within seconds, and writes nothing outside the output folder.

A hand-written corpus covers each class of bad input found by fuzzing (expressions, YAML bombs
and duplicates, non-finite or huge chip values, sizes, files that are not regular files,
outputs that cannot be written, names that try to leave the output folder); hypothesis then
mutates chip files and expressions at random. `ACCEL_FUZZ_EXAMPLES=2000 pytest
tests/test_hostile_inputs.py` runs a longer profile.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accel import cli

EXAMPLES = int(os.environ.get("ACCEL_FUZZ_EXAMPLES", "40"))
SECONDS = 20

BILLION_LAUGHS = "\n".join(
    ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
)


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """(exit code, stderr) of `accel ARGS` run in this process."""
    argv = sys.argv
    sys.argv = ["accel", *args]
    code = 0
    try:
        with _deadline(SECONDS):
            cli.main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.argv = argv
    return code, capsys.readouterr().err


def assert_refused(code: int, stderr: str, *fragments: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr and stderr.count("\n") == 1 and len(stderr) < 600, stderr
    for fragment in fragments:
        assert fragment in stderr, stderr


WORKLOAD = """name: {name}
input: {{channels: {channels}, height: 8, width: 8}}
layers:
  - {{name: conv1, kind: conv, out_channels: {out}, kernel: 3}}
"""


@pytest.mark.parametrize(("expression", "message"), [
    ("10**10**10", "must stay below 2**128"),
    ("1//0", "divides by zero"),
    ("int(1e400)", "must stay finite"),
    ("2.0**10000", "must stay below 2**128"),
    ("max(4)", "cannot be computed"),
    ("make_divisible(10, 0)", "divides by zero"),
    ("+".join(["1"] * 200_000), "at most 2000 characters"),
    ("(" * 150 + "1" + ")" * 150 + " + " + " + ".join(["1"] * 300), "at most 400 terms"),
])  # fmt: skip
def test_hostile_expressions_are_refused(expression: str, message: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(WORKLOAD.format(name="w", channels=3, out=f'"${{{expression}}}"'))
    assert_refused(*run_cli(capsys, "simulate-network", "-n", str(path), "-q", "--out",
                          str(tmp_path / "out")), message)  # fmt: skip


@pytest.mark.parametrize(("text", "message"), [
    (BILLION_LAUGHS, "must expand to at most 200,000 values"),
    ("array:\n  rows: 8\n  rows: 16\n", "duplicate key 'rows'"),
    ("a: " + "[" * 3000 + "]" * 3000 + "\n", "nest at most 50 levels"),
    ("array:\n  rows: \xff\n", "must be UTF-8"),
    ("array: {rows: 100000000000000000000000000000000}\n", "array.rows must be <= 65536"),
    ("clock_mhz: .inf\n", "clock_mhz must be a finite number"),
    ("sram: {unified: {size_kib: .inf}}\n", "size_kib must be a finite number"),
    ("sram: {unified: {size_kib: 1.0e-300}}\n", "size_kib must be >= 0.0009765625"),
    ("energy: {mac_pj: .inf}\n", "energy.mac_pj must be a finite number"),
    ("dram: {bandwidth_bytes_per_cycle: .nan}\n", "bandwidth_bytes_per_cycle"),
])  # fmt: skip
def test_hostile_chip_files_are_refused(text: str, message: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "chip.yaml"
    path.write_bytes(text.encode("latin-1"))
    assert_refused(*run_cli(capsys, "validate", str(path)), message)
    assert_refused(*run_cli(capsys, "simulate-network", "-n", "lenet5", "-c", str(path), "-q",
                          "--out", str(tmp_path / "out")), message)  # fmt: skip


def test_files_that_are_not_regular_files_are_named_as_such(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "chip.yaml"
    os.mkfifo(fifo)
    assert_refused(*run_cli(capsys, "validate", str(fifo)), "must be a regular file")
    assert_refused(*run_cli(capsys, "validate", str(tmp_path)), "must be a regular file")
    assert_refused(*run_cli(capsys, "validate", str(tmp_path / "missing.yaml")), "does not exist")


@pytest.mark.parametrize(("args", "message"), [
    (("-n", "big.yaml"), "must have at most 1,073,741,824 elements per image"),
    (("-n", "mobilenet_v1", "-p", "resolution=100000"), "elements per image"),
    (("-n", "lenet5", "--batch", "1000000000"), "--batch"),
    (("-n", "vgg16", "--batch", "4000", "--check"), "GiB of memory"),
])  # fmt: skip
def test_sizes_are_refused_before_anything_is_allocated(
        args: tuple[str, ...], message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "big.yaml").write_text(WORKLOAD.format(name="big", channels=10**9, out=4))
    monkeypatch.chdir(tmp_path)
    code, stderr = run_cli(capsys, "simulate-network", *args, "-q", "--out", "out")
    assert code == 2 and message in stderr, stderr
    assert "Traceback" not in stderr


def test_a_name_cannot_leave_the_output_folder(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "w.yaml").write_text(WORKLOAD.format(name="../../escaped", channels=3, out=4))
    monkeypatch.chdir(work)
    code, stderr = run_cli(capsys, "simulate-network", "-n", "w.yaml", "-q")
    assert code == 0, stderr
    assert (work / "reports" / "_.._escaped" / "summary.json").is_file()
    assert not (tmp_path / "escaped").exists() and not (work.parent.parent / "escaped").exists()


@pytest.mark.parametrize("target", ["file", "under_file", "/dev/full/out", "/proc/accel"])
def test_outputs_that_cannot_be_written_are_one_line(target: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    out = {"file": str(blocker), "under_file": str(blocker / "out")}.get(target, target)
    code, stderr = run_cli(capsys, "simulate-network", "-n", "lenet5", "-q", "--out", out)
    assert_refused(code, stderr)
    assert blocker.read_text() == "x"  # nothing already written is lost


def test_a_full_disk_leaves_no_partial_file(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = Path.write_bytes  # what `write_atomically` writes every file with

    def full(self: Path, data: bytes) -> int:
        if self.name.endswith(".partial") and "summary" in self.name:
            real_write(self, b"half")
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    code, stderr = run_cli(capsys, "simulate-network", "-n", "lenet5", "-q", "--out",
                         str(tmp_path / "out"))  # fmt: skip
    assert_refused(code, stderr, "No space left on device")
    assert not list((tmp_path / "out").glob(".*partial"))


def test_inputs_that_are_pickled_or_not_finite_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = np.zeros((1, 1, 32, 32), np.float32)
    images[0, 0, 0, 0] = np.nan
    np.save(tmp_path / "nan.npy", images)
    np.savez(tmp_path / "pickled.npz", input=np.array([{"a": 1}], dtype=object))
    for name, message in (("nan.npy", "must be finite"), ("pickled.npz", "plain arrays")):
        assert_refused(*run_cli(capsys, "simulate-network", "-n", "lenet5", "--check", "-q",
                              "--inputs", str(tmp_path / name), "--out",
                              str(tmp_path / "out")), message)  # fmt: skip


def test_report_of_a_garbage_folder_is_one_line(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "summary.json").write_text("{not json")
    (tmp_path / "layers.csv").write_bytes(b"layer,kind\n\xff\xfe,conv\n")
    assert_refused(*run_cli(capsys, "report", str(tmp_path)), "summary.json")


def test_an_unexpected_exception_is_an_internal_error_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import accel.simulation

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(accel.simulation, "simulate_network", broken)
    code, stderr = run_cli(capsys, "simulate-network", "-n", "lenet5", "-q", "--out",
                         str(tmp_path / "out"))  # fmt: skip
    assert code == 1 and stderr.count("\n") == 1, stderr
    assert stderr.startswith("internal error: ZeroDivisionError: division by zero")
    assert "--debug" in stderr
    with pytest.raises(ZeroDivisionError):
        run_cli(capsys, "simulate-network", "-n", "lenet5", "-q", "--debug", "--out",
              str(tmp_path / "out"))  # fmt: skip


_FIELDS = ["array.rows", "array.cols", "clock_mhz", "sram.unified.size_kib", "dram.latency_cycles",
           "dram.bandwidth_bytes_per_cycle", "energy.mac_pj", "vector_unit.lanes",
           "dram.burst_bytes"]  # fmt: skip
_VALUES = st.one_of(
    st.integers(-(10**40), 10**40), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([".inf", "-.inf", ".nan", "1e-300", "0", "-1", "null", "[]", "{}", "'x'"]),
)  # fmt: skip


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(field=st.sampled_from(_FIELDS), value=_VALUES)
def test_fuzzed_chip_fields_end_in_0_or_2(field: str, value: object, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    head, _, leaf = field.rpartition(".")
    text = str(value) if isinstance(value, str) else repr(value).replace("inf", ".inf")
    text = text.replace("nan", ".nan")
    body = f"{leaf}: {text}\n"
    for part in reversed(head.split(".") if head else []):
        body = f"{part}:\n" + "".join(f"  {line}\n" for line in body.splitlines())
    path = tmp_path / "chip.yaml"
    path.write_text(body)
    code, stderr = run_cli(capsys, "simulate-network", "-n", "lenet5", "-c", str(path), "-q",
                         "--out", str(tmp_path / "out"))  # fmt: skip
    assert code in (0, 2) and "Traceback" not in stderr, stderr
    assert stderr.count("\n") <= 1 and len(stderr) < 600, stderr


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(alphabet="0123456789+-*/%().e ,abcdefghijklmnopqrstuvwxyz_", max_size=60))
def test_fuzzed_expressions_end_in_a_value_or_one_line(expression: str) -> None:
    from accel.errors import InputError
    from accel.io.expressions import evaluate

    with _deadline(5):
        try:
            evaluate(expression, {"alpha": 0.5, "resolution": 224}, "w")
        except InputError as err:
            assert "\n" not in str(err) and len(str(err)) < 600


def _mutated(data: bytes, draw: st.DataObject) -> bytes:
    """`data` truncated, bit-flipped or overwritten at a few random places."""
    kind = draw.draw(st.sampled_from(["truncate", "flip", "overwrite"]))
    if kind == "truncate":
        return data[: draw.draw(st.integers(0, len(data) - 1))]
    mutable = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 8))):
        index = draw.draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            mutable[index] ^= 1 << draw.draw(st.integers(0, 7))
        else:
            mutable[index] = draw.draw(st.integers(0, 255))
    return bytes(mutable)


def _assert_clean(code: int, stderr: str) -> None:
    # One line; an unsupported operator's line lists the supported ones (about 1 KB).
    assert code in (0, 2) and "Traceback" not in stderr, stderr
    if code == 2:  # a sweep that succeeds reports its progress on stderr
        assert stderr.count("\n") == 1 and len(stderr) < 2000, stderr


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_mutated_tflite_files_end_in_0_or_2(data: st.DataObject, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tflite")
    from tflite_builders import int8_cnn

    path = tmp_path / "model.tflite"
    path.write_bytes(_mutated(int8_cnn(0), data))
    _assert_clean(*run_cli(capsys, "simulate-network", "-n", str(path), "-q", "--out",
                           str(tmp_path / "out")))  # fmt: skip


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_mutated_onnx_files_end_in_0_or_2(data: st.DataObject, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnx")
    from onnx_builders import GraphBuilder

    g = GraphBuilder("fuzz", [1, 3, 8, 8], opset=13, seed=1)
    x = g.maxpool(g.relu(g.conv(g.input, 3, 4, 3, stride=2)), 2, 2)
    model = g.model([g.gemm(g.node("Flatten", [x]), 4, 3)])
    path = tmp_path / "model.onnx"
    path.write_bytes(_mutated(model.SerializeToString(), data))
    _assert_clean(*run_cli(capsys, "simulate-network", "-n", str(path), "-q", "--out",
                           str(tmp_path / "out")))  # fmt: skip


def test_onnx_constant_folding_and_loops_are_bounded(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A 146-byte ConstantOfShape asked for gigabytes; a Loop with 10**12 trips hung."""
    from onnx import TensorProto, helper, numpy_helper, save

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    shape = numpy_helper.from_array(np.array([3000, 1000, 1000], np.int64), "shape")
    fill = helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["big"], value=fill),
             helper.make_node("Add", ["x", "big"], ["y"])]  # fmt: skip
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], [shape]),
                              opset_imports=[helper.make_opsetid("", 13)])  # fmt: skip
    model.ir_version = 8
    save(model, str(tmp_path / "constant.onnx"))
    assert_refused(*run_cli(capsys, "simulate-network", "-n", str(tmp_path / "constant.onnx"),
                            "-q", "--out", str(tmp_path / "out")),
                   "must fold to at most 268,435,456 constant elements, not 3,000,000,000")
    body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["c_out"]), helper.make_node("Identity", ["v"], ["w"])],
        "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                 helper.make_tensor_value_info("c", TensorProto.BOOL, []),
                 helper.make_tensor_value_info("v", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, None)],
    )  # fmt: skip
    trips = [numpy_helper.from_array(np.array(10**12, np.int64), "trips"),
             numpy_helper.from_array(np.array(True), "go")]  # fmt: skip
    loop = [helper.make_node("Loop", ["trips", "go", "x"], ["y"], body=body)]
    model = helper.make_model(helper.make_graph(loop, "g", [x], [y], trips),
                              opset_imports=[helper.make_opsetid("", 13)])  # fmt: skip
    model.ir_version = 8
    save(model, str(tmp_path / "loop.onnx"))
    code, stderr = run_cli(capsys, "simulate-network", "-n", str(tmp_path / "loop.onnx"), "-q",
                           "--out", str(tmp_path / "out"))  # fmt: skip
    assert code == 2 and "(op Loop) is not supported" in stderr and stderr.count("\n") == 1


@pytest.mark.parametrize(("body", "message"), [
    ("grid:\n" + "".join(f"  {field}: [{', '.join(map(str, range(1, 33)))}]\n" for field in
                         ("array.rows", "array.cols", "vector_unit.lanes", "dram.latency_cycles")),
     "at most 1,000,000 points before constraints, not 1,048,576"),
    ("random: {samples: 1000000000000, axes: {clock_mhz: {min: 1, max: 2}}}\n",
     "random.samples must be <= 1000000"),
    ("random: {samples: 3, axes: {clock_mhz: {min: -.inf, max: .inf}}}\n",
     "min must be a finite number"),
    ("grid: {clock_mhz: [100, .nan]}\n", "must be finite numbers"),
    ("grid: {array.rows: [8, 16]}\nconstraints: ['array.rows // 0 > 1']\n", "divides by zero"),
])  # fmt: skip
def test_hostile_sweeps_are_refused_before_any_point(body: str, message: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text("name: hostile\nnetworks: [lenet5]\n" + body)
    assert_refused(*run_cli(capsys, "sweep", str(path), "--out", str(tmp_path / "out")),
                   message)  # fmt: skip


def test_a_corrupt_journal_line_reruns_its_point(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """32 and 32.0 are one point; bad JSON, a record without an id and non-UTF-8 bytes in the
    journal are skipped, not a traceback."""
    path = tmp_path / "sweep.yaml"
    path.write_text("name: small\nnetworks: [lenet5]\ngrid: {array.rows: [16, 32, 32.0]}\n")
    out = tmp_path / "out"
    code, stderr = run_cli(capsys, "sweep", str(path), "--out", str(out))
    assert code == 0, stderr
    first = (out / "results.csv").read_text()
    assert first.count("\n") == 3  # a header and two points
    with (out / "points.jsonl").open("ab") as journal:
        journal.write(b"{not json\n" + b'{"no_id": 1}\n' + b"\xff\xfe\n")
    code, stderr = run_cli(capsys, "sweep", str(path), "--out", str(out))
    assert code == 0, stderr
    assert (out / "results.csv").read_text() == first


def test_axis_values_of_mixed_kinds_or_past_64_bits_end_in_a_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`true` beside `1` in one axis, and an integer past 64 bits (a point refused on its own),
    once ended the sweep in an internal error at its last step, writing the Parquet table:
    such a column is text there, as in the CSV."""
    from accel.sweep.store import parquet_available, read_table

    path = tmp_path / "sweep.yaml"
    path.write_text("name: odd\nnetworks: [lenet5]\ngrid: {array.fold_overlap: [true, 1], "
                    "array.rows: [16, 100000000000000000000000]}\n")  # fmt: skip
    out = tmp_path / "out"
    code, stderr = run_cli(capsys, "sweep", str(path), "--out", str(out))
    assert code == 0, stderr
    _, rows, _ = read_table(out / "results.csv")
    assert [row["status"] for row in rows] == ["ok", "error", "ok", "error"]
    if parquet_available():
        _, rows, _ = read_table(out / "results.parquet")
        assert [row["array.fold_overlap"] for row in rows] == ["True", "True", "1", "1"]
        assert rows[1]["array.rows"] == "100000000000000000000000"
        assert "must be <= 65536" in rows[1]["error"]


def test_an_npy_header_declaring_a_huge_array_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import struct

    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100), }"
    header = header.ljust(118) + "\n"
    path = tmp_path / "huge.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
                     + bytes(64))  # fmt: skip
    assert_refused(*run_cli(capsys, "simulate-network", "-n", "lenet5", "--inputs", str(path),
                            "-q", "--out", str(tmp_path / "out")),
                   "mmap length is greater than file size")  # fmt: skip


@pytest.mark.parametrize(("attribute", "value", "message"), [
    ("strides", [0, 0], "stride must be > 0, not (0, 0)"),
    ("group", 0, "groups must be > 0, not 0"),
    ("pads", [-1, -1, -1, -1], "padding must be >= 0"),
    ("dilations", [0, 0], "dilation must be > 0, not (0, 0)"),
    ("initializer dims", 7, "initializer 'const1' is malformed (cannot reshape"),
])  # fmt: skip
def test_malformed_onnx_attributes_name_the_node_and_rule(
        attribute: str, value: object, message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from onnx import helper, save
    from onnx_builders import GraphBuilder

    g = GraphBuilder("malformed", [1, 3, 8, 8], opset=13, seed=1)
    model = g.model([g.conv(g.input, 3, 4, 3)])
    if attribute == "initializer dims":
        model.graph.initializer[0].dims[0] = int(value)  # type: ignore[call-overload]
    else:
        node = model.graph.node[0]
        kept = [a for a in node.attribute if a.name != attribute]
        del node.attribute[:]
        node.attribute.extend([*kept, helper.make_attribute(attribute, value)])
    save(model, str(tmp_path / "model.onnx"))
    assert_refused(*run_cli(capsys, "simulate-network", "-n", str(tmp_path / "model.onnx"), "-q",
                            "--out", str(tmp_path / "out")), message)  # fmt: skip


@pytest.mark.parametrize(("attribute", "value", "message"), [
    ("auto_pad", "SAME", "attribute auto_pad must be NOTSET, VALID, SAME_UPPER or SAME_LOWER"),
    ("output_shape", [1, 4, 30, 30], "attribute output_shape must list the 2 spatial sizes"),
    ("output_shape", [40, 40], "attribute output_shape [40, 40] must not exceed the full"),
    ("kernel_shape", [2, 2], "attribute kernel_shape [2, 2] must match the weights' [3, 3]"),
    ("output_padding", [2, 2], "output_padding must be smaller than the stride or the dilation"),
    ("group", 3, "with group 3 must fit 4 input channels"),
    ("pads", [9, 9, 9, 9], "must leave a non-empty output"),
])  # fmt: skip
def test_malformed_conv_transpose_attributes_name_the_node_and_rule(
        attribute: str, value: object, message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from onnx import TensorProto, helper, numpy_helper, save

    attrs = {"strides": [2, 2], "pads": [1, 1, 1, 1], attribute: value}
    if attribute in ("auto_pad", "output_shape"):
        del attrs["pads"]
    weight = numpy_helper.from_array(np.zeros((4, 2, 3, 3), np.float32), "w")
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [1, 4, 8, 8])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, None)], [weight])  # fmt: skip
    save(helper.make_model(graph), str(tmp_path / "model.onnx"))
    assert_refused(*run_cli(capsys, "simulate-network", "-n", str(tmp_path / "model.onnx"), "-q",
                            "--out", str(tmp_path / "out")), "node 'up'", message)  # fmt: skip


@pytest.mark.parametrize(("fields", "message"), [
    ("output_padding: 2, stride: 2", "output_padding must be smaller than the stride"),
    ("padding: [1, 2, 3]", "padding must be an integer >= 0"),
    ("padding: 9", "must leave a non-empty output"),
])  # fmt: skip
def test_malformed_conv_transpose_layers_are_one_line(
        fields: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "up.yaml"
    path.write_text("input: {channels: 4, height: 8, width: 8}\nlayers:\n"
                    f"  - {{name: up, kind: conv_transpose, out_channels: 2, kernel: 3, {fields}}}\n")
    assert_refused(*run_cli(capsys, "simulate-network", "-n", str(path), "-q", "--out",
                            str(tmp_path / "out")), "'up'", message)  # fmt: skip


def test_a_scalesim_export_of_a_transposed_conv_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "up.yaml"
    path.write_text("input: {channels: 4, height: 8, width: 8}\nlayers:\n"
                    "  - {name: up, kind: conv_transpose, out_channels: 2, kernel: 2, stride: 2}\n")
    assert_refused(*run_cli(capsys, "export", "-n", str(path), "--format", "scalesim-csv"),
                   "layer 'up' (conv_transpose) cannot be exported to a SCALE-Sim topology")


def test_report_refuses_a_csv_accel_did_not_write(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "summary.json").write_text("{}")
    (tmp_path / "layers.csv").write_text("a,b\n1,2\n")
    assert_refused(*run_cli(capsys, "report", str(tmp_path)), "must be the layers.csv accel wrote")


@pytest.mark.parametrize("command", [["schema"], ["networks"],
                                     ["export", "-n", "lenet5", "--format", "yaml"]])
def test_printing_to_a_full_device_is_one_line(command: list[str]) -> None:
    import subprocess

    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-c", "from accel.cli import main; main()",
                                 *command], stdout=full, stderr=subprocess.PIPE, text=True,
                                check=False)  # fmt: skip
    assert_refused(result.returncode, result.stderr, "No space left on device")


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(field=st.sampled_from(["kernel", "stride", "padding", "out_channels", "groups",
                              "dilation", "kind", "inputs", "activation"]),
       value=st.one_of(_VALUES, st.lists(st.integers(-3, 10**6), max_size=5),
                       st.text(max_size=12)))  # fmt: skip
def test_fuzzed_workload_layers_end_in_0_or_2(field: str, value: object, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import json

    layer = {"name": "conv1", "kind": "conv", "out_channels": 4, "kernel": 3, field: value}
    text = (f"name: fuzz\ninput: {{channels: 3, height: 16, width: 16}}\n"
            f"layers:\n  - {json.dumps(layer, default=str)}\n"
            "  - {name: pool, kind: global_avgpool}\n")  # fmt: skip
    path = tmp_path / "w.yaml"
    path.write_text(text.replace("NaN", ".nan").replace("Infinity", ".inf"))
    _assert_clean(*run_cli(capsys, "simulate-network", "-n", str(path), "-q", "--out",
                           str(tmp_path / "out")))  # fmt: skip


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(field=st.sampled_from(["batch", "grid", "zip", "random", "networks", "constraints",
                              "metrics", "name", "chip"]),
       value=st.one_of(_VALUES, st.lists(st.one_of(st.integers(-3, 40), st.text(max_size=8)),
                                         max_size=4),
                       st.dictionaries(st.sampled_from(["array.rows", "clock_mhz", "x", "samples",
                                                        "axes", "min"]),
                                       st.one_of(st.integers(-2, 64), st.lists(
                                           st.integers(-2, 64), max_size=3)), max_size=3)))  # fmt: skip
def test_fuzzed_sweep_files_end_in_0_or_2(field: str, value: object, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import json

    spec = {"name": "fuzz", "networks": ["lenet5"], "grid": {"array.rows": [8, 16]}, field: value}
    path = tmp_path / "sweep.yaml"
    path.write_text(json.dumps(spec, default=str).replace("NaN", ".nan")
                    .replace("Infinity", ".inf"))  # fmt: skip
    _assert_clean(*run_cli(capsys, "sweep", str(path), "--out", str(tmp_path / "out")))


def test_a_cyclic_tflite_graph_is_refused_not_zero_layers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tflite")
    from tflite_builders import TfliteBuilder, _schema

    schema = _schema()
    g = TfliteBuilder()
    x = g.activation([1, 4, 4, 2], "x", 0.1, 0)
    a = g.activation([1, 4, 4, 2], "a", 0.1, 0)
    b = g.activation([1, 4, 4, 2], "b", 0.1, 0)
    add = schema.BuiltinOperator.ADD
    g.op(add, [b, b], [a], schema.AddOptionsT(), schema.BuiltinOptions.AddOptions)
    g.op(add, [a, a], [b], schema.AddOptionsT(), schema.BuiltinOptions.AddOptions)
    path = tmp_path / "cycle.tflite"
    path.write_bytes(g.build([x], [b]))
    assert_refused(*run_cli(capsys, "simulate-network", "-n", str(path), "-q", "--out",
                            str(tmp_path / "out")), "must have at least one layer")  # fmt: skip
