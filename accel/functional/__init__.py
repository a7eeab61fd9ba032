"""The int8 datapath: quantized models and bit-exact execution of every layer."""
