"""The memory model: tile geometry and tiling search, DRAM traffic, the loop nest and tile
schedule of each layer, the DMA replay against the DRAM link, and the network's footprint."""
