"""Safe expressions: arithmetic for workloads, and conditions over dotted names for sweeps."""

from __future__ import annotations

import pytest

from accel.errors import InputError
from accel.io.expressions import evaluate, evaluate_condition

CHIP = {"array.rows": 64, "array.cols": 32, "array.dataflow": "ws", "sram.unified": None}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("array.rows * array.cols <= 2048", True),
        ("array.rows * array.cols < 2048", False),
        ("16 <= array.cols < 64", True),
        ("array.dataflow == 'ws' and array.rows > array.cols", True),
        ("array.dataflow != 'ws' or array.rows == 64", True),
        ("not array.rows == 64", False),
        ("sram.unified == None", True),
        ("max(array.rows, array.cols) // min(array.rows, array.cols) <= 2", True),
    ],
)
def test_conditions_over_dotted_names(text: str, expected: bool) -> None:
    assert evaluate_condition(text, CHIP, "sweep.yaml", "a chip field") is expected


def test_arithmetic_result_is_not_a_condition() -> None:
    assert evaluate("array.rows * 2", CHIP, "x") == 128
    with pytest.raises(InputError, match=r"^s: condition must compare values .*, not 'array.rows \* 2'$"):
        evaluate_condition("array.rows * 2", CHIP, "s", "a chip field")


def test_unknown_dotted_name_suggests_the_closest() -> None:
    with pytest.raises(InputError, match=r"^s: 'array.row' is not a chip field \(did you mean 'array.rows'\?\)$"):
        evaluate_condition("array.row > 1", CHIP, "s", "a chip field")


def test_text_never_enters_arithmetic() -> None:
    with pytest.raises(InputError, match=r"arithmetic needs numbers, not 'ws'"):
        evaluate("array.dataflow * 1000000000", CHIP, "s")


def test_comparing_text_with_a_number_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"cannot compare 'ws' with 3"):
        evaluate_condition("array.dataflow < 3", CHIP, "s", "a chip field")


@pytest.mark.parametrize("text", ["__import__('os')", "[1][0] == 1", "(lambda: 1)()", "x if 1 else 2"])
def test_code_is_rejected(text: str) -> None:
    with pytest.raises(InputError, match=r"expression may use numbers, parameters"):
        evaluate(text, CHIP, "s")


def test_dots_name_fields_and_never_reach_python_attributes() -> None:
    with pytest.raises(InputError, match=r"'array.rows.__class__' is not a chip field"):
        evaluate("array.rows.__class__", CHIP, "s", "a chip field")
