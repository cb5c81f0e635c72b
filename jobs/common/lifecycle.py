"""Graceful stop for long-running jobs: SIGTERM (Kubernetes) and SIGINT (Ctrl-C) finish the current batch."""

from __future__ import annotations

import signal
from types import FrameType


class Stop:
    """Installs SIGTERM/SIGINT handlers that set ``requested``; loops check it between batches."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
