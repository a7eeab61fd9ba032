"""The workload model: operators, layers and the network DAG."""
