"""Reading and writing the files users bring: chip YAML, workload YAML, other tools' formats."""
