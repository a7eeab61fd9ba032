"""Placing layers on the chip: the array mapping of each GEMM, or the vector unit."""
