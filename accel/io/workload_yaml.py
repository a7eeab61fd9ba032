"""Workload files: a network written as YAML, one mapping per layer.

```yaml
name: tiny
parameters: {resolution: 32}          # defaults; override with name?resolution=64 or --param
input: {channels: 3, height: "${resolution}", width: "${resolution}"}
layers:
  - {name: conv1, kind: conv, out_channels: 16, kernel: 3, padding: same, activation: relu}
  - {name: pool1, kind: maxpool, kernel: 2, stride: 2}
  - {name: fc, kind: fc, out_features: 10}
```
A layer reads the previous layer unless it names `inputs: [a, b]` (or `input: a`). The other keys
are the operator's fields (see `accel.model.ops`). An optional top-level `fused_groups: [[first,
last], ...]` names the chains to fuse depth first on a chip with `memory.fusion: manual`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from accel.errors import InputError, closest
from accel.io.expressions import Number, substitute
from accel.model import ops, pool_ops
from accel.model.network import INPUT, LayerEntry, Network
from accel.model.op_base import OpBase
from accel.model.ops import Shape
from accel.user_input import load_yaml_mapping, validate_model

OP_CLASSES: dict[str, type[OpBase]] = {
    "conv": ops.Conv,
    "fc": ops.FullyConnected,
    "maxpool": pool_ops.MaxPool,
    "avgpool": pool_ops.AvgPool,
    "global_avgpool": pool_ops.GlobalAvgPool,
    "add": ops.Add,
    "mul": ops.Mul,
    "concat": ops.Concat,
    "activation": ops.Activation,
    "flatten": ops.Flatten,
    "softmax": ops.Softmax,
    "batchnorm": ops.BatchNorm,
    "lrn": ops.LocalResponseNorm,
    "clip": ops.Clip,
    "pad": ops.Pad,
    "reshape": ops.Reshape,
    "transpose": ops.Transpose,
    "channel_shuffle": ops.ChannelShuffle,
    "channel_slice": ops.ChannelSlice,
    "resize": ops.Resize,
    "depth_to_space": ops.DepthToSpace,
    "space_to_depth": ops.SpaceToDepth,
    "prelu": ops.PRelu,
    "reduce_mean": ops.ReduceMean,
    "unsupported": ops.Unsupported,
    "conv_transpose": ops.ConvTranspose,
}
_TOP_LEVEL = ("name", "description", "source", "parameters", "input", "inputs", "layers",
              "fused_groups")


def load_workload(path: str | Path, overrides: Mapping[str, Number] | None = None) -> Network:
    """Read a workload YAML file into a Network, with parameters overridden by `overrides`."""
    data = load_yaml_mapping(path, "workload")
    return parse_workload(data, str(path), overrides or {})


def parse_workload(data: dict[str, Any], source: str, overrides: Mapping[str, Number]) -> Network:
    for key in data:
        if key not in _TOP_LEVEL:
            raise InputError(
                f"{source}: {key!r} is not a known workload field{closest(key, _TOP_LEVEL)}"
            )
    if not isinstance(data.get("layers"), list) or not data["layers"]:
        raise InputError(f"{source}: layers must be a non-empty list of layer mappings")
    names = _parameters(data.get("parameters") or {}, overrides, source)
    graph_inputs = _graph_inputs(data, names, source)
    entries = [_entry(raw, index, names, source) for index, raw in enumerate(data["layers"])]
    name = str(data.get("name") or Path(source).stem)
    try:
        network = Network.build(name, graph_inputs, entries)
    except InputError as err:
        raise InputError(f"{source}: {err}") from None
    if "fused_groups" not in data:
        return network
    fused = _fused_groups(data["fused_groups"], network, source)
    return Network(network.name, network.inputs, network.layers, fused)


def _fused_groups(groups: Any, network: Network, source: str) -> tuple[tuple[str, str], ...]:
    """The workload's `fused_groups`, checked as the chip's are: [first, last] pairs of its
    layers, the last after the first, no two overlapping (whether each is a chain that fuses is
    checked when a chip with `fusion: manual` runs it)."""
    if not isinstance(groups, list):
        raise InputError(f"{source}: fused_groups must be a list of [first, last] layer names, "
                         f"not {groups!r}")  # fmt: skip
    position = {layer.name: i for i, layer in enumerate(network.layers)}
    taken: set[int] = set()
    pairs = []
    for group in groups:
        if not (isinstance(group, list) and len(group) == 2 and all(
                isinstance(name, str) for name in group)):  # fmt: skip
            raise InputError(f"{source}: fused_groups entries must be [first, last] layer names, "
                             f"not {group!r}")  # fmt: skip
        first, last = group
        where = f"{source}: fused_groups [{first}, {last}]"
        for name in (first, last):
            if name not in position:
                raise InputError(f"{where}: layer {name!r} is not in {network.name}"
                                 f"{closest(name, position)}")  # fmt: skip
        if position[last] <= position[first]:
            raise InputError(f"{where}: the last layer must come after the first")
        span = set(range(position[first], position[last] + 1))
        if taken & span:
            raise InputError(f"{where}: overlaps another fused group")
        taken |= span
        pairs.append((first, last))
    return tuple(pairs)


def _parameters(defaults: Any, overrides: Mapping[str, Number], source: str) -> dict[str, Number]:
    if not isinstance(defaults, dict):
        raise InputError(f"{source}: parameters must be a mapping of name: number")
    for key, value in overrides.items():
        if key not in defaults:
            valid = ", ".join(defaults) or "none"
            raise InputError(
                f"{source}: parameter {key!r} does not exist{closest(key, defaults)}; "
                f"valid parameters: {valid}"
            )
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InputError(f"{source}: parameter {key} must be a number, not {value!r}")
    return {**defaults, **overrides}


def _graph_inputs(data: dict[str, Any], names: dict[str, Number], source: str) -> dict[str, Shape]:
    """`input: {channels, height, width}` (one input) or `inputs: {name: {...}, ...}`."""
    if ("input" in data) == ("inputs" in data):
        raise InputError(f"{source}: give exactly one of input or inputs")
    if "input" in data:
        raw = {INPUT: data["input"]}
    elif isinstance(data["inputs"], dict) and data["inputs"]:
        raw = data["inputs"]
    else:
        raise InputError(f"{source}: inputs must be a mapping of name: {{channels, height, width}}")
    return {
        str(name): _input_shape(substitute(value, names, f"{source}: {name}"), f"{source}: {name}")
        for name, value in raw.items()
    }


def _input_shape(value: Any, where: str) -> Shape:
    if isinstance(value, list) and len(value) == 3:
        value = dict(zip(("channels", "height", "width"), value, strict=True))
    if not isinstance(value, dict) or set(value) != {"channels", "height", "width"}:
        raise InputError(f"{where} must be {{channels, height, width}}, not {value!r}")
    for key, size in value.items():
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise InputError(f"{where}.{key} must be a positive integer, not {size!r}")
    return Shape(value["channels"], value["height"], value["width"])


def _entry(raw: Any, index: int, names: dict[str, Number], source: str) -> LayerEntry:
    if not isinstance(raw, dict):
        raise InputError(f"{source}: layers[{index}] must be a mapping, not {raw!r}")
    fields = dict(raw)
    name = str(fields.pop("name", f"layer{index}"))
    where = f"{source}: layer {name!r}"
    inputs = _inputs(fields, where)
    kind = fields.get("kind")
    if not isinstance(kind, str) or kind not in OP_CLASSES:
        hint = closest(str(kind), OP_CLASSES)
        raise InputError(
            f"{where}: kind must be one of {', '.join(OP_CLASSES)}, not {kind!r}{hint}"
        )
    op = validate_model(OP_CLASSES[kind], substitute(fields, names, where), where)
    return LayerEntry(name, op, inputs)  # type: ignore[arg-type]


def _inputs(fields: dict[str, Any], where: str) -> tuple[str, ...]:
    if "input" in fields and "inputs" in fields:
        raise InputError(f"{where}: give input or inputs, not both")
    value = fields.pop("inputs", fields.pop("input", []))
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}: inputs must be a list of layer names, not {value!r}")
    return tuple(value)


def network_to_yaml(network: Network) -> str:
    """Write a Network as a concrete workload file (no parameters, every field explicit)."""
    import yaml  # only writing a workload needs PyYAML here (a run reads the zoo without it)

    layers = []
    for layer in network.layers:
        fields: dict[str, Any] = {"name": layer.name}
        fields.update(layer.op.model_dump(mode="json", exclude_defaults=True))
        fields["kind"] = layer.kind
        fields["inputs"] = list(layer.inputs)
        layers.append(fields)
    shapes = {
        name: {"channels": s.channels, "height": s.height, "width": s.width}
        for name, s in network.inputs
    }
    data: dict[str, Any] = {"name": network.name}
    if list(shapes) == [INPUT]:
        data["input"] = shapes[INPUT]
    else:
        data["inputs"] = shapes
    data["layers"] = layers
    if network.fused_groups:
        data["fused_groups"] = [list(group) for group in network.fused_groups]
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
