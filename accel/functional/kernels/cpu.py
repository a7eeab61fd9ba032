"""The running CPU, as the reference runtimes see it: which kernel code path MLAS dispatches to.

onnxruntime's MLAS picks its float kernels by CPU feature at start-up (platform.cpp): x86 with
AVX-512F takes the AVX-512F kernels (16 lanes, NCHWc blocks of 16); x86 with AVX2 and FMA3 the
FMA3/AVX kernels (8 lanes, NCHWc blocks of 8); older x86 the AVX or SSE2 kernels; ARM64 the NEON
kernels. A float32 result that depends on summation order (a softmax's sum, an NCHWc layout
choice) differs between paths in the last bit, so accel's emulations of them are chosen by the
path detected here, the same way MLAS detects it, and a path accel does not model is refused by
name. The flags are read from /proc/cpuinfo (Linux); elsewhere the path is "unknown".
"""

from __future__ import annotations

import platform
from functools import cache
from pathlib import Path

from accel.errors import InputError

MODELLED_FLOAT_PATHS = ("avx512f", "avx2-fma3")


@cache
def cpu_flags() -> frozenset[str]:
    """The running CPU's feature flags as Linux names them (empty where none can be read)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def float_path(flags: frozenset[str] | None = None, machine: str | None = None) -> str:
    """MLAS's float kernel path: avx512f, avx2-fma3, avx, sse2, arm64-neon or unknown."""
    flags = cpu_flags() if flags is None else flags
    machine = (platform.machine() if machine is None else machine).lower()
    if machine in ("aarch64", "arm64"):
        return "arm64-neon"
    if machine not in ("x86_64", "amd64"):
        return "unknown"
    if "avx512f" in flags:
        return "avx512f"
    if {"avx2", "fma"} <= flags:
        return "avx2-fma3"
    return "avx" if "avx" in flags else "sse2"


def integer_path(flags: frozenset[str] | None = None, machine: str | None = None) -> str:
    """MLAS's u8s8 GEMM instruction: on x86 VNNI or AMX (int32 accumulation), vpmaddubsw on
    AVX2 / AVX-512BW (int16 pair sums), or SSE's widening kernel; other machines by name."""
    flags = cpu_flags() if flags is None else flags
    machine = (platform.machine() if machine is None else machine).lower()
    if machine not in ("x86_64", "amd64"):
        return "arm64-neon" if machine in ("aarch64", "arm64") else machine or "unknown"
    for flag in ("amx_int8", "avx512_vnni", "avx_vnni"):
        if flag in flags:
            return flag.replace("_", "-")
    return "avx512bw" if "avx512bw" in flags else ("avx2" if "avx2" in flags else "sse")


def nchwc_block_size(path: str | None = None) -> int:
    """Channels per block of MLAS's NCHWc layout on this path (1: no NCHWc kernels)."""
    path = float_path() if path is None else path
    return {"avx512f": 16, "avx2-fma3": 8, "avx": 8, "sse2": 8}.get(path, 1)


def require_modelled(what: str, path: str | None = None) -> str:
    """The float path, or a one-line refusal naming `what` and this CPU's path."""
    path = float_path() if path is None else path
    if path not in MODELLED_FLOAT_PATHS:
        raise InputError(
            f"{what}: accel reproduces onnxruntime's float32 MLAS kernels for AVX-512F and "
            f"AVX2+FMA3 x86 CPUs only, not this CPU's {path} kernels"
        )
    return path
