"""The behaviour gateway's settings: where it listens, the client token, and the backpressure bounds.

One definition read by the gateway, the emulator (the token) and the benchmark; documented in
docs/configuration.md (generated) and docs/behaviour.md ("Gateway").
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.common.settings import ConfigError, setting

TOKEN_MIN = 16  # characters: a short token is guessable; the chart generates 32+ random ones


@dataclass(frozen=True, kw_only=True)
class GatewayToken:
    """The shared client token (a Secret in Kubernetes): clients send ``Authorization: Bearer <token>``."""

    token: str = setting(
        "BEHAVIOUR_GATEWAY_TOKEN",
        help=f"Bearer token clients of the behaviour gateway send (at least {TOKEN_MIN} characters; from a Secret, "
        "e.g. `openssl rand -hex 24`). No default.",
    )

    def validate(self) -> None:
        if len(self.token) < TOKEN_MIN or self.token != self.token.strip():
            raise ConfigError(
                f"BROOK_BEHAVIOUR_GATEWAY_TOKEN must be at least {TOKEN_MIN} characters without surrounding spaces: "
                "generate one with `openssl rand -hex 24`."
            )


@dataclass(frozen=True, kw_only=True)
class GatewaySettings:
    """Where the gateway listens and how much it holds in flight before it tells clients to slow down."""

    host: str = setting(
        "BEHAVIOUR_GATEWAY_HOST", "127.0.0.1", help="Address the gateway listens on (0.0.0.0 in a pod)."
    )
    port: int = setting(
        "BEHAVIOUR_GATEWAY_PORT",
        8765,
        help="Port of the gateway (WebSocket /events, /healthz, /live); 0 = any free port (the start line names it).",
    )
    max_in_flight: int = setting(
        "BEHAVIOUR_GATEWAY_MAX_IN_FLIGHT",
        256,
        help="Per connection: messages read but not yet answered (ack/error frame written). At this bound the "
        "gateway sends slow_down and stops reading that socket until half of them are answered.",
    )
    max_in_flight_bytes: int = setting(
        "BEHAVIOUR_GATEWAY_MAX_IN_FLIGHT_BYTES",
        16 * 1024 * 1024,
        help="Whole gateway: bytes of messages not yet answered. At this bound every connection that reads gets "
        "slow_down until half is answered. This bounds the gateway's memory (kafka-python's producer has no bound).",
    )
    max_frame_bytes: int = setting(
        "BEHAVIOUR_GATEWAY_MAX_FRAME_BYTES",
        65536,
        help="Largest WebSocket message accepted; a bigger one closes the connection with code 1009.",
    )
    slow_down_ms: int = setting(
        "BEHAVIOUR_GATEWAY_SLOW_DOWN_MS", 200, help="The pause suggested in a slow_down frame (ms)."
    )
    linger_ms: int = setting(
        "BEHAVIOUR_GATEWAY_LINGER_MS",
        5,
        help="Producer linger (ms): a client waits for its ack, so batches wait less than bulk producers' 20 ms.",
    )
    drain_seconds: float = setting(
        "BEHAVIOUR_GATEWAY_DRAIN_SECONDS",
        25.0,
        help="On SIGTERM: how long to wait for Kafka to acknowledge what is in flight (keep it below the pod's "
        "terminationGracePeriodSeconds). Events not acknowledged by then were never acked to a client.",
    )
    probe_seconds: float = setting(
        "BEHAVIOUR_GATEWAY_PROBE_SECONDS", 5.0, help="Interval of the Kafka metadata probe behind /readyz."
    )
    live: bool = setting(
        "BEHAVIOUR_GATEWAY_LIVE",
        True,
        help="Serve the live page (/live, /live/updates) from behaviour_minute; needs the BROOK_PG_* settings.",
    )
    live_poll_seconds: float = setting(
        "BEHAVIOUR_GATEWAY_LIVE_POLL_SECONDS", 1.0, help="How often the live page's rows are read from Postgres."
    )

    def validate(self) -> None:
        checks = [
            (0 <= self.port <= 65535, "BROOK_BEHAVIOUR_GATEWAY_PORT must be in 0..65535 (0: any free port)."),
            (self.max_in_flight >= 2, "BROOK_BEHAVIOUR_GATEWAY_MAX_IN_FLIGHT must be >= 2."),
            (1024 <= self.max_frame_bytes <= 1_048_576, "BROOK_BEHAVIOUR_GATEWAY_MAX_FRAME_BYTES: 1024..1048576."),
            (
                self.max_in_flight_bytes >= 4 * self.max_frame_bytes,
                "BROOK_BEHAVIOUR_GATEWAY_MAX_IN_FLIGHT_BYTES must be >= 4 x BROOK_BEHAVIOUR_GATEWAY_MAX_FRAME_BYTES.",
            ),
            (self.slow_down_ms >= 1, "BROOK_BEHAVIOUR_GATEWAY_SLOW_DOWN_MS must be >= 1."),
            (self.linger_ms >= 0, "BROOK_BEHAVIOUR_GATEWAY_LINGER_MS must be >= 0."),
            (self.drain_seconds > 0, "BROOK_BEHAVIOUR_GATEWAY_DRAIN_SECONDS must be > 0."),
            (self.probe_seconds > 0, "BROOK_BEHAVIOUR_GATEWAY_PROBE_SECONDS must be > 0."),
            (self.live_poll_seconds > 0, "BROOK_BEHAVIOUR_GATEWAY_LIVE_POLL_SECONDS must be > 0."),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
