"""Compute timing of a mapped layer (array folds, vector lanes) and energy from event counts."""
