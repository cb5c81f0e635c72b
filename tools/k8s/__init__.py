"""Kubernetes helpers: the chart's FlinkDeployments as standalone files, Pod Security checks, `make ui`."""
