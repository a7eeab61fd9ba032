"""Transposed convolution on the array: zero insertion against sub-pixel, layer by layer.

    python benchmarks/conv_transpose_mappings.py

For a few upsampling layers of real decoders, on the default chip (32×32 ws), prints the GEMM
of each mapping, useful and issued MACs, total cycles (memory included, the layer alone),
DRAM bytes and energy, and the ratio zero insertion / sub-pixel.
"""

from __future__ import annotations

from accel.config import ChipConfig
from accel.model.conv_transpose import ConvTranspose
from accel.model.network import LayerEntry, Network
from accel.model.ops import Shape
from accel.simulation import simulate_layer

LAYERS = (
    ("U-Net up-conv 2x2 s2, 512->256 @28", ConvTranspose(out_channels=256, kernel=2, stride=2),
     Shape(512, 28, 28)),
    ("DCGAN 4x4 s2 p1, 128->64 @16", ConvTranspose(out_channels=64, kernel=4, stride=2,
                                                   padding=1), Shape(128, 16, 16)),
    ("PyTorch 3x3 s2 p1 op1, 64->32 @32", ConvTranspose(out_channels=32, kernel=3, stride=2,
                                                        padding=1, output_padding=1),
     Shape(64, 32, 32)),
    ("FCN 16x16 s8 p4, 21->21 @28", ConvTranspose(out_channels=21, kernel=16, stride=8,
                                                  padding=4), Shape(21, 28, 28)),
)  # fmt: skip


def main() -> None:
    print(f"{'layer':38} {'mapping':15} {'M×K×N':>18} {'useful MACs':>13} {'issued MACs':>13} "
          f"{'cycles':>10} {'DRAM bytes':>11} {'energy µJ':>10}")  # fmt: skip
    for title, op, shape in LAYERS:
        layer = Network.build("one", shape, [LayerEntry("up", op)]).layer("up")
        cycles = {}
        for form in ("zero_insertion", "sub_pixel"):
            chip = ChipConfig().with_values({"array.conv_transpose": form})
            result = simulate_layer(layer, chip)
            array = result.mapping.array
            assert array is not None
            cycles[form] = result.total_cycles
            gemm = f"{array.m}×{array.k}×{array.n}"
            print(f"{title:38} {form:15} {gemm:>18} {result.macs:>13,} "
                  f"{result.mapping.issued_macs:>13,} {result.total_cycles:>10,} "
                  f"{result.memory.dram_bytes:>11,} {result.energy.total_pj / 1e6:>10.2f}")
        print(f"{'':38} zero insertion / sub-pixel cycles: "
              f"{cycles['zero_insertion'] / cycles['sub_pixel']:.2f}")


if __name__ == "__main__":
    main()
