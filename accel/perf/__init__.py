"""Performance models: compute timing, memory traffic and stalls, energy."""
