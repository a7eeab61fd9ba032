"""Where chips and networks come from: a built-in name, a YAML file, or another tool's format.

`load_network("mobilenet_v1?alpha=0.5&resolution=160")` reads a built-in workload with parameters;
`load_network("net.yaml" | "topology.csv" | "model.onnx" | "model.tflite")` reads a file
(`load_model` also returns the weights and quantization a model file carries).
`load_chip(None)` is the embedded default chip; `load_chip("x.yaml" | "x.cfg")` reads an accel
YAML or a SCALE-Sim config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from accel.config import ChipConfig
from accel.errors import InputError, closest
from accel.io.expressions import Number
from accel.io.workload_yaml import load_workload, parse_workload
from accel.io.zoo import parsed_workload
from accel.model.network import Network

if TYPE_CHECKING:  # model files (and numpy with them) load only when a .onnx/.tflite is read
    from accel.io.imported import ImportedModel

_PACKAGE_DATA = Path(__file__).resolve().parent.parent / "_data"
_REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def data_dir(kind: str) -> Path:
    """`configs` or `workloads`: the repo folder in a checkout, package data in a wheel."""
    for candidate in (_REPO_ROOT / kind, _PACKAGE_DATA / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"accel's {kind} folder is missing from the installation")


def zoo_names() -> list[str]:
    """Names of the built-in networks (the YAML files in `workloads/`)."""
    return sorted(path.stem for path in data_dir("workloads").glob("*.yaml"))


def parse_params(pairs: list[str]) -> dict[str, Number]:
    """`["alpha=0.5", "resolution=160"]` → `{"alpha": 0.5, "resolution": 160}`."""
    params: dict[str, Number] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise InputError(f"parameter must be written name=value, not {pair!r}")
        try:
            params[key.strip()] = int(text) if text.strip().lstrip("-").isdigit() else float(text)
        except ValueError:
            raise InputError(f"parameter {key} must be a number, not {text!r}") from None
    return params


def load_model(
    source: str, input_shapes: Sequence[str] = (), allow_unsupported: bool = False
) -> ImportedModel:
    """A model file (.onnx or .tflite) with the weights and quantization it carries.

    `input_shapes` fixes dynamic input dimensions (`1x3x224x224` or `name=1x3x224x224`);
    `allow_unsupported` keeps operators accel cannot cost as zero-cost placeholder layers.
    """
    suffix = Path(source).suffix.lower()
    if suffix == ".onnx":
        from accel.io.onnx_import import import_onnx

        return import_onnx(source, input_shapes, allow_unsupported)
    if suffix == ".tflite":
        from accel.io.tflite_import import import_tflite

        return import_tflite(source, input_shapes, allow_unsupported)
    raise InputError(f"model file must end in .onnx or .tflite, not {source!r}")


def load_network(
    source: str,
    params: Mapping[str, Number] | None = None,
    input_shapes: Sequence[str] = (),
    allow_unsupported: bool = False,
) -> Network:
    """A network from a built-in name (optionally `name?key=value&...`) or a file."""
    return load_source(source, params, input_shapes, allow_unsupported)[0]


def load_source(
    source: str,
    params: Mapping[str, Number] | None = None,
    input_shapes: Sequence[str] = (),
    allow_unsupported: bool = False,
) -> tuple[Network, ImportedModel | None]:
    """`load_network`, plus the imported model (weights, quantization) of a model file."""
    name, _, query = source.partition("?")
    merged = {**_query_params(query), **(params or {})}
    path = Path(name)
    suffix = path.suffix.lower()
    if suffix in (".onnx", ".tflite"):
        _no_params(merged, source)
        model = load_model(name, input_shapes, allow_unsupported)
        return model.network, model
    return _load_described(source, name, merged, input_shapes), None


def _query_params(query: str) -> dict[str, Number]:
    """The parameters of `name?alpha=0.5&resolution=160` (urllib loads only when there are)."""
    if not query:
        return {}
    from urllib.parse import parse_qsl

    return parse_params([f"{key}={value}" for key, value in parse_qsl(query)])


def _load_described(
    source: str, name: str, merged: Mapping[str, Number], input_shapes: Sequence[str]
) -> Network:
    path = Path(name)
    suffix = path.suffix.lower()
    if input_shapes:
        raise InputError(
            f"--input-shape applies to .onnx and .tflite models, not to {source!r}"
        )
    if suffix in (".yaml", ".yml"):
        return load_workload(path, merged)
    if suffix == ".csv":
        from accel.io.scalesim import load_topology

        _no_params(merged, source)
        return load_topology(path)
    names = zoo_names()
    if name not in names:
        hint = closest(name, names)
        raise InputError(f"network must be a file or one of {', '.join(names)}, not {name!r}{hint}")
    path = data_dir("workloads") / f"{name}.yaml"
    parsed = parsed_workload(path)  # the file as parsed ahead of time, unless it was edited
    if parsed is None:
        return load_workload(path, merged)
    return parse_workload(parsed, str(path), merged)


def load_chip(source: str | Path | None) -> ChipConfig:
    """The embedded default chip, a chip YAML, a built-in config name, or a SCALE-Sim `.cfg`."""
    if source is None:
        return ChipConfig()
    path = Path(source)
    if path.suffix.lower() == ".cfg":
        from accel.io.scalesim import load_scalesim_config

        return load_scalesim_config(path)
    if not path.exists() and path.suffix == "":
        builtin = data_dir("configs") / f"{path.name}.yaml"
        if builtin.is_file():
            return ChipConfig.from_yaml(builtin)
    return ChipConfig.from_yaml(path)


def _no_params(params: Mapping[str, Number], source: str) -> None:
    if params:
        raise InputError(f"{source}: a model file takes no parameters, not {dict(params)!r}")
