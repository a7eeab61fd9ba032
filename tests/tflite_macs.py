"""An independent MAC count of a .tflite file, read straight off the flatbuffer with the tflite
package (no accel code): the tests' and `benchmarks/real_models.py`'s reference figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def count_macs(path: Path) -> int:
    """MACs of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV and mediapipe's
    Convolution2DTransposeBias, from the flatbuffer's shapes alone."""
    from tflite.BuiltinOperator import BuiltinOperator as B
    from tflite.Model import Model

    model = Model.GetRootAs(path.read_bytes(), 0)
    graph = model.Subgraphs(0)
    total = 0
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        custom = (code.CustomCode() or b"").decode()
        out = graph.Tensors(op.Outputs(0)).ShapeAsNumpy()
        weight = graph.Tensors(op.Inputs(1)).ShapeAsNumpy() if op.InputsLength() > 1 else None
        if builtin == B.CONV_2D:
            total += int(np.prod(out[1:])) * int(np.prod(weight[1:]))
        elif builtin == B.DEPTHWISE_CONV_2D:
            total += int(np.prod(out[1:])) * int(weight[1] * weight[2])
        elif builtin == B.FULLY_CONNECTED:
            total += int(weight[0] * weight[1])
        elif builtin == B.TRANSPOSE_CONV or custom == "Convolution2DTransposeBias":
            # every input pixel meets every weight (OHWI) once; the input is operand 2 of the
            # builtin (after the output shape) and operand 0 of mediapipe's custom op
            source = graph.Tensors(op.Inputs(2 if builtin == B.TRANSPOSE_CONV else 0))
            total += int(np.prod(source.ShapeAsNumpy()[1:3])) * int(np.prod(weight))
    return total
