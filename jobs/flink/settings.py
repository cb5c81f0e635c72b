"""Settings shared by every PyFlink job (``BROOK_FLINK_*``, window knobs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jobs.common.settings import ConfigError, setting

FUNCTIONS_JAR = "brook-flink-functions.jar"  # jobs/flink/functions: built by `make flink-jars`, on /opt/flink/lib


@dataclass(frozen=True, kw_only=True)
class FlinkSettings:
    parallelism: int = setting("FLINK_PARALLELISM", 1, help="Default operator parallelism.")
    jars: str = setting(
        "FLINK_JARS",
        "",
        help="Colon-separated connector jars to ship with the job (local mode: the jars of `make flink-jars`, "
        "set by `python -m jobs.local.services env`). Empty in the Flink image (they are on /opt/flink/lib).",
    )
    checkpoint_dir: str = setting(
        "FLINK_CHECKPOINT_DIR",
        "",
        help="Checkpoint URI (file:// locally). Empty: the cluster's configuration decides (Kubernetes: s3://).",
    )
    checkpoint_interval_ms: int = setting("FLINK_CHECKPOINT_INTERVAL_MS", 10_000, help="Checkpoint interval (ms).")
    restore_from: str = setting(
        "FLINK_RESTORE_FROM",
        "",
        help="Start from this checkpoint or savepoint (a chk-N/savepoint directory or URI): a job restarted in "
        "local mode resumes its state and Kafka offsets. Empty: start without state (Kubernetes: the operator "
        "restores from the last checkpoint itself).",
    )
    bounded: bool = setting(
        "FLINK_BOUNDED",
        False,
        help="Read Kafka up to the offsets at start, then finish (tests, demo, bench); every window closes.",
    )
    window_seconds: int = setting("WINDOW_SECONDS", 60, help="Tumbling event-time window size (s).")
    watermark_delay_seconds: int = setting(
        "WATERMARK_DELAY_SECONDS",
        3,
        help="Watermark = max event time seen − this delay (s): an event later than this misses its window; "
        "each second added here adds a second of result latency.",
    )
    startup_mode: str = setting(
        "FLINK_STARTUP_MODE",
        "group-offsets",
        help="Where a job without state starts reading (group-offsets falls back to earliest).",
        choices=("earliest-offset", "latest-offset", "group-offsets"),
    )
    idle_timeout_seconds: int = setting(
        "FLINK_IDLE_TIMEOUT_SECONDS",
        10,
        help="A Kafka partition without data for this long stops holding the watermark back (0 = never).",
    )
    sink_flush_rows: int = setting("FLINK_SINK_FLUSH_ROWS", 1000, help="JDBC sink: rows buffered per flush.")
    sink_flush_ms: int = setting("FLINK_SINK_FLUSH_MS", 500, help="JDBC sink: max time between flushes (ms).")

    def validate(self) -> None:
        for var, value in (
            ("BROOK_FLINK_PARALLELISM", self.parallelism),
            ("BROOK_FLINK_CHECKPOINT_INTERVAL_MS", self.checkpoint_interval_ms),
            ("BROOK_WINDOW_SECONDS", self.window_seconds),
            ("BROOK_FLINK_SINK_FLUSH_ROWS", self.sink_flush_rows),
            ("BROOK_FLINK_SINK_FLUSH_MS", self.sink_flush_ms),
        ):
            if value < 1:
                raise ConfigError(f"{var}={value}: must be at least 1.")
        if self.watermark_delay_seconds < 0 or self.idle_timeout_seconds < 0:
            raise ConfigError("BROOK_WATERMARK_DELAY_SECONDS and BROOK_FLINK_IDLE_TIMEOUT_SECONDS must be >= 0.")
        missing = [jar for jar in self.jars.split(":") if jar and not Path(jar).is_file()]
        if missing:
            raise ConfigError(f"BROOK_FLINK_JARS lists missing files: {', '.join(missing)}; run `make flink-jars`.")
        if self.jars and not any(Path(jar).name == FUNCTIONS_JAR for jar in self.jars.split(":")):
            raise ConfigError(
                f"BROOK_FLINK_JARS has no {FUNCTIONS_JAR} (Brook's contract function, which the jobs call): run "
                "`make flink-jars`, then take BROOK_FLINK_JARS from `python -m jobs.local.services env` again."
            )
