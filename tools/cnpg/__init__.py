"""CloudNativePG on the node of `make cluster`: its operator from its Go module's own config (operator.py)."""
