"""Brook's developer tools (importable, tested)."""
