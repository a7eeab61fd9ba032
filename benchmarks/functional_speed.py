"""Speed of accel's bit-exact int8 engine next to onnxruntime on the same quantized model.

For VGG16 and MobileNetV2 at 224×224, batch 1, this quantizes the network (seeded weights,
calibrated), then times in one process:
  * accel: `run` of the prepared network along the default chip's tile schedules (32×32 ws,
    the tiling the memory model chose: `schedules_for`);
  * onnxruntime: the exported QOperator model, CPU provider, default graph optimizations,
    the same number of threads as BLAS.
Both exclude one-time preparation (accel's weight layout, onnxruntime's session creation) and
report the median of several runs after a warm-up. Each BLAS thread count runs in a fresh
process, because OpenBLAS reads OPENBLAS_NUM_THREADS when numpy is imported.

    python benchmarks/functional_speed.py [--repeats 5] [--networks vgg16 mobilenet_v2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def measure(network_name: str, threads: int, repeats: int) -> dict[str, float]:
    """Run inside a process whose BLAS thread count is already fixed."""
    import numpy as np
    import onnxruntime as ort

    from accel.config import ChipConfig
    from accel.functional.calibrate import quantize_network
    from accel.functional.engine import prepare, run, schedules_for
    from accel.functional.inputs import prepare_inputs, random_images
    from accel.io.onnx_export import build_quantized_onnx
    from accel.io.sources import load_network

    network = load_network(network_name)
    qnet = quantize_network(network, images=2)
    images = random_images(network, 1, seed=1)
    inputs = prepare_inputs(qnet, images, 1)
    chip = ChipConfig()
    schedules = schedules_for(network, chip, 1)
    prepared = prepare(qnet)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = ort.InferenceSession(
        build_quantized_onnx(qnet).SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    last = network.layers[-1].name
    feeds = {name: np.asarray(images[name]) for name, _ in network.inputs}

    def accel_run() -> None:
        run(prepared, inputs.quantized, schedules)

    def ort_run() -> None:
        session.run([last], feeds)

    return {"accel_s": _median_time(accel_run, repeats), "ort_s": _median_time(ort_run, repeats)}


def _median_time(fn: object, repeats: int) -> float:
    fn()  # type: ignore[operator]  # warm-up: page in weights, spin up thread pools
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", nargs="+", default=["vgg16", "mobilenet_v2"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, threads = args.child[0], int(args.child[1])
        print(json.dumps(measure(name, threads, args.repeats)))
        return
    print(f"{'network':<14}{'threads':>8}{'accel s':>10}{'onnxruntime s':>15}{'accel/ort':>11}")
    for name in args.networks:
        for threads in args.threads:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
            child = subprocess.run(
                [sys.executable, __file__, "--child", name, str(threads), "--repeats",
                 str(args.repeats)],
                capture_output=True, text=True, env=env, cwd=REPO, check=True,
            )  # fmt: skip
            result = json.loads(child.stdout.strip().splitlines()[-1])
            ratio = result["accel_s"] / result["ort_s"]
            print(
                f"{name:<14}{threads:>8}{result['accel_s']:>10.3f}{result['ort_s']:>15.3f}"
                f"{ratio:>11.2f}"
            )


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))  # the checkout's accel, not an installed one
    main()
