"""Where a Brook process's Prometheus metrics go: an HTTP endpoint while it runs, a text file when it ends.

One job: :func:`exported` wraps a process's ``main`` (:func:`jobs.common.cli.run` does it for every job), so no
pipeline starts a server of its own. ``BROOK_METRICS_PORT`` (0 or empty: off) serves ``/metrics`` on
``BROOK_METRICS_ADDR`` for the Prometheus of ``make metrics`` or a PodMonitor; ``BROOK_METRICS_TEXTFILE`` writes
every metric once the process ends, for short-lived runs (the exporter, batch jobs) that a scrape would miss:
a node-exporter textfile collector or a test reads it. Both off by default: a process costs nothing extra.

The metrics themselves live next to the code that counts them (jobs/common/produce.py, jobs/bets/consumer.py,
jobs/bets/exporter.py), named after Prometheus' conventions (``brook_<process>_<what>_<unit>``, counters end in
``_total``); docs/metrics.md lists every one. They are counted per batch, not per event, where the loop is hot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import REGISTRY, start_http_server, write_to_textfile

from jobs.common.settings import ConfigError, load, setting

NAMESPACE = "brook"


@dataclass(frozen=True, kw_only=True)
class MetricsSettings:
    """Where the process's Prometheus metrics are exposed (docs/metrics.md)."""

    port: int = setting(
        "METRICS_PORT",
        0,
        help="Serve Prometheus metrics on this port at /metrics while the process runs (0: off). The chart sets it "
        "when monitoring.enabled; a consumer with BROOK_CONSUMER_WORKERS=N serves worker i on port+1+i.",
    )
    addr: str = setting(
        "METRICS_ADDR",
        "0.0.0.0",
        help="Address the metrics endpoint binds (127.0.0.1 locally; all interfaces in a pod, for the scraper).",
    )
    textfile: str = setting(
        "METRICS_TEXTFILE",
        "",
        help="Write every metric to this file (Prometheus text format, atomically) when the process ends; for "
        "short-lived runs such as the exporter (empty: off).",
    )

    def validate(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"BROOK_METRICS_PORT={self.port}: use a TCP port (1-65535), or 0 to turn metrics off.")
        if self.textfile and not Path(self.textfile).parent.is_dir():
            raise ConfigError(
                f"BROOK_METRICS_TEXTFILE={self.textfile!r}: its directory does not exist; create it or unset the "
                "variable."
            )


@contextmanager
def exported(settings: MetricsSettings | None = None) -> Iterator[None]:
    """Serve the default registry while the block runs (if a port is set); write the text file after it (if set),
    also when the block failed: a failed run's counts are what an operator needs most."""
    cfg = load(MetricsSettings) if settings is None else settings
    if cfg.port:
        try:
            start_http_server(cfg.port, addr=cfg.addr)
        except OSError as err:
            raise ConfigError(
                f"BROOK_METRICS_PORT={cfg.port} on BROOK_METRICS_ADDR={cfg.addr}: cannot listen ({err}); pick a "
                "free port or set 0 to turn metrics off."
            ) from None
    try:
        yield
    finally:
        if cfg.textfile:
            write_to_textfile(cfg.textfile, REGISTRY)
