"""Writing small .tflite models offline, with the flatbuffer schema bindings LiteRT ships.

A `TfliteBuilder` collects quantized tensors (NHWC, per-tensor or per-channel scales),
constant buffers and operators, and packs them into a TFLite model (schema version 3,
file identifier TFL3). It is used to hand single layers to TFLite's reference kernels.
Requires `ai-edge-litert` (`pip install "accel-simulator[check]"`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from accel.errors import InputError


def schema() -> Any:
    """The generated flatbuffer object API of the TFLite schema."""
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError:
        raise InputError(
            'the TFLite check needs ai-edge-litert: pip install "accel-simulator[check]"'
        ) from None
    return schema_py_generated


TENSOR_TYPES = {"int8": "INT8", "uint8": "UINT8", "int32": "INT32", "int64": "INT64"}


@dataclass
class TfliteBuilder:
    """One subgraph under construction: tensors, constant data and operators, in order."""

    tensors: list[Any] = field(default_factory=list)
    data: list[npt.NDArray[Any] | None] = field(default_factory=list)
    operators: list[tuple[int, list[int], list[int], int, Any]] = field(default_factory=list)
    opcodes: list[int] = field(default_factory=list)

    def tensor(
        self,
        name: str,
        shape: Sequence[int],
        dtype: str,
        scale: npt.ArrayLike | None = None,
        zero_point: npt.ArrayLike | None = None,
        axis: int = 0,
        data: npt.NDArray[Any] | None = None,
    ) -> int:
        """Add a tensor (a constant if `data` is given) and return its index."""
        s = schema()
        t = s.TensorT()
        t.name, t.shape = name, [int(d) for d in shape]
        t.type = getattr(s.TensorType, TENSOR_TYPES[dtype])
        if scale is not None:
            q = s.QuantizationParametersT()
            q.scale = [float(v) for v in np.atleast_1d(scale)]
            zps = np.zeros(len(q.scale), np.int64) if zero_point is None else zero_point
            q.zeroPoint = [int(v) for v in np.atleast_1d(zps)]
            q.quantizedDimension = axis
            t.quantization = q
        self.tensors.append(t)
        self.data.append(None if data is None else np.ascontiguousarray(data))
        return len(self.tensors) - 1

    def operator(
        self, code: str, inputs: list[int], outputs: list[int], options: Any = None
    ) -> None:
        """Append an operator by builtin name (`CONV_2D`, ...) with its `*OptionsT` object."""
        s = schema()
        builtin = getattr(s.BuiltinOperator, code)
        if builtin not in self.opcodes:
            self.opcodes.append(builtin)
        options_type = 0
        if options is not None:
            options_type = getattr(s.BuiltinOptions, type(options).__name__[:-1])
        self.operators.append((self.opcodes.index(builtin), inputs, outputs, options_type, options))

    def finish(self, inputs: list[int], outputs: list[int]) -> bytes:
        """The serialized model with the given graph inputs and outputs."""
        import flatbuffers

        s = schema()
        model = s.ModelT()
        model.version = 3
        model.operatorCodes = []
        for builtin in self.opcodes:
            code = s.OperatorCodeT()
            code.builtinCode, code.deprecatedBuiltinCode, code.version = (
                builtin,
                min(builtin, 127),
                1,
            )
            model.operatorCodes.append(code)
        model.buffers = [s.BufferT()]  # buffer 0: the conventional empty buffer
        for tensor, data in zip(self.tensors, self.data, strict=True):
            buffer = s.BufferT()
            if data is not None:
                buffer.data = np.frombuffer(data.tobytes(), np.uint8)
            tensor.buffer = len(model.buffers)
            model.buffers.append(buffer)
        graph = s.SubGraphT()
        graph.tensors, graph.inputs, graph.outputs = self.tensors, inputs, outputs
        graph.operators = []
        for index, op_inputs, op_outputs, options_type, options in self.operators:
            op = s.OperatorT()
            op.opcodeIndex, op.inputs, op.outputs = index, op_inputs, op_outputs
            op.builtinOptionsType, op.builtinOptions = options_type, options
            graph.operators.append(op)
        model.subgraphs = [graph]
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())
