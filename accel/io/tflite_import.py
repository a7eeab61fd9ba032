"""Importing a TFLite flatbuffer: each operator of the main subgraph becomes a layer or an alias.

The reading itself is `accel.io.tflite_reader`; the converter of each operator is in
`accel.io.tflite_ops`, `accel.io.tflite_transpose_conv` (TRANSPOSE_CONV and mediapipe's
Convolution2DTransposeBias) and `accel.io.tflite_resample` (resize, PReLU, depth/space moves,
tanh, means over any axes, and the constant shape arithmetic before a RESHAPE).

TFLite tensors are NHWC with static shapes stored in the file, so no shape inference is needed:
the importer maps (1, H, W, C) to the IR's (C, H, W), (1, F) to (F, 1, 1) and (1, A, B) to
(A, B, 1), and checks every layer's IR shape against the file's. Conv filters (O, KH, KW, I) and
depthwise filters (1, KH, KW, C·m) are transposed to accel's (out, in/groups, kh, kw); an fc
layer's weight columns are permuted from HWC to CHW flattening order. Fused activations become
the layer's `activation`; DEQUANTIZE of a constant (float16 or int8 weights) folds away; on
activations QUANTIZE / DEQUANTIZE only record the quantization. Reads with the `tflite` package
(`pip install "accel-simulator[tflite]"`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from accel.errors import InputError, first_line
from accel.io import tflite_ops, tflite_resample, tflite_transpose_conv
from accel.io.imported import ImportedModel, finish
from accel.io.tflite_reader import MALFORMED, Activation, TfliteImporter, require_tflite
from accel.user_input import describe

OPERATORS = {
    **tflite_ops.OPERATORS, **tflite_transpose_conv.OPERATORS, **tflite_resample.OPERATORS
}


def supported_operators() -> list[str]:
    return sorted(OPERATORS)


def import_tflite(
    path: str | Path, input_shapes: Sequence[str] = (), allow_unsupported: bool = False
) -> ImportedModel:
    """Read a .tflite file into a network plus the weights and quantization it carries."""
    model_class = require_tflite()
    file = Path(path)
    if not file.is_file():
        raise InputError(f"model file {str(file)!r} does not exist")
    data = file.read_bytes()
    try:
        if len(data) < 8 or data[4:8] != b"TFL3":
            raise ValueError("missing the TFL3 file identifier")
        model = model_class.GetRootAs(data, 0)
        if model.SubgraphsLength() < 1:
            raise ValueError("no subgraph")
        importer = TfliteImporter(model, str(file), allow_unsupported, supported_operators())
    except MALFORMED as err:
        raise InputError(f"{file}: not a valid TFLite model ({first_line(err)})") from None
    importer.check_input_shapes(input_shapes)
    return _run(importer)


def _run(importer: TfliteImporter) -> ImportedModel:
    for position in range(importer.graph.OperatorsLength()):
        try:
            _convert(importer, importer.graph.Operators(position), position)
        except InputError:
            raise
        except MALFORMED as err:
            # A corrupt file: an index past a table, a short buffer, a missing option (or an op
            # pydantic refuses: its ValidationError is a ValueError).
            raise InputError(f"{importer.source}: operator {position} is malformed "
                             f"({describe(err)})") from None
    return finish(importer.parts, importer.source)


def _convert(importer: TfliteImporter, op: Any, position: int) -> None:
    name = importer.operator_name(op)
    inputs = [int(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []
    values = [importer.value(i) if i >= 0 else None for i in inputs]
    if values and all(not isinstance(v, Activation) for v in values):
        # weight preparation (DEQUANTIZE of float16/int8, DENSIFY of sparse weights)
        array = values[0]
        if name in ("DEQUANTIZE", "QUANTIZE") and isinstance(array, np.ndarray):
            importer.values[int(op.Outputs(0))] = importer.dequantized(inputs[0], array)
        elif (folded := tflite_resample.fold_constant(importer, op, name, values)) is not None:
            importer.values[int(op.Outputs(0))] = folded  # shape arithmetic
        else:
            importer.values[int(op.Outputs(0))] = None  # known by its dims only
        return
    converter = OPERATORS.get(name)
    if converter is None:
        importer.unsupported(op, name, "")
    else:
        converter(importer, op, inputs)
