"""The Python API as the README documents it: the README's block runs, and each call's forms."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO

import accel
from accel.errors import InputError

pytest.importorskip("pandas", reason='the tables need the pandas extra: pip install -e ".[pandas]"')


def test_the_readme_python_block_runs(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1]
    (block,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "total_cycles" in printed and "array.rows" in printed


def test_simulate_equals_the_library_path_and_takes_every_chip_form() -> None:
    from accel.config import ChipConfig
    from accel.io.sources import load_network
    from accel.simulation import simulate_network

    expected = simulate_network(load_network("mobilenet_v1", {"resolution": 64}),
                                ChipConfig().with_values({"array.rows": 16}), 2).summary()  # fmt: skip
    for chip in ({"array.rows": 16}, {"array": {"rows": 16}},
                 ChipConfig().with_values({"array.rows": 16})):  # fmt: skip
        assert accel.simulate("mobilenet_v1", chip, batch=2, resolution=64).summary() == expected
    network = load_network("lenet5")
    assert accel.simulate(network).summary()["network"] == "lenet5"
    assert accel.load_chip("eyeriss_like").name == accel.load_chip(
        REPO / "configs" / "eyeriss_like.yaml").name  # fmt: skip


@pytest.mark.parametrize(
    ("call", "message"),
    [(lambda: accel.simulate("lenet5", batch=0), "batch must be an integer from 1 to 4096"),
     (lambda: accel.simulate("lenet5", {"array.rowz": 4}), "array.rowz"),
     (lambda: accel.simulate("no_such_net"), "no_such_net")],
)  # fmt: skip
def test_bad_input_raises_the_clis_message(call: object, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        call()  # type: ignore[operator]


def test_tables_have_numbers_as_numbers_and_the_html_view_names_the_run(tmp_path: Path) -> None:
    result = accel.simulate("lenet5")
    frame = result.to_pandas()
    assert list(frame.columns) == list(result.rows()[0])
    assert frame["total_cycles"].dtype.kind == "i" and frame["utilization"].dtype.kind == "f"
    assert int(frame["total_cycles"].sum()) == result.summary()["total_cycles"]
    assert "<b>lenet5</b>" in result._repr_html_() and result._repr_html_().count("<tr>") == 8
    spec = {"name": "s", "networks": ["lenet5"], "grid": {"array.rows": [8, 16]},
            "metrics": ["total_cycles"]}  # fmt: skip
    table = accel.sweep_table(spec, out=tmp_path / "sweep")
    assert list(table["array.rows"]) == [8, 16] and set(table["status"]) == {"ok"}
    assert (tmp_path / "sweep" / "results.csv").is_file()


def test_train_step_gives_a_seeded_float_training_steps_numbers() -> None:
    numbers = accel.train_step("lenet5", {"array.precision": "bf16"}, batch=2, optimizer="adam")
    again = accel.train_step("lenet5", {"array.precision": "bf16"}, batch=2, optimizer="adam")
    assert numbers.precision == "bf16" and numbers.loss == again.loss
    assert sorted(numbers.weight_gradients) == ["conv1", "conv2", "conv3", "fc4", "fc5"]
    assert numbers.activations["input"].shape == (2, 1, 32, 32)
    assert numbers.state.step == 1
    with pytest.raises(InputError, match=r"array\.precision must be fp32, bf16 or fp16"):
        accel.train_step("lenet5")
