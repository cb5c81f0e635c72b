"""Brook's developer tools (importable, tested): version pins, manifest validation, Kubernetes helpers, schema
generation, the chart README's values table.

Run from the repository root by make (``python -m tools.<module>``) and imported by the tests. Not part of any image:
the Dockerfiles copy ``jobs/`` only, and .dockerignore keeps ``tools/`` out of the build context.
"""
