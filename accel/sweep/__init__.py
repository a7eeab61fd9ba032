"""Design-space sweeps: many (chip, network) points, run locally or on a Dask cluster.

spec (the YAML) → points (expansion, constraints) → plan (loaded, with ids) → executors
(where points run) → runner (journal, resume, table) → store (journal and table files).
"""
