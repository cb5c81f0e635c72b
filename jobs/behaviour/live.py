"""The gateway's live page: ``GET /live`` serves a static page whose script listens on ``/live/updates``, where the
gateway pushes the latest per-minute rows of ``behaviour_minute``.

One reader per gateway (not per viewer): :class:`LiveFeed` polls Postgres every
``BROOK_BEHAVIOUR_GATEWAY_LIVE_POLL_SECONDS`` in a worker thread (psycopg2 blocks) and broadcasts the rows only when
they changed, so a hundred open pages cost one query a second. A viewer that cannot keep up misses frames instead
of slowing the gateway (``websockets.broadcast`` skips it); each frame is a full snapshot, so nothing is lost by
skipping. A Postgres outage shows on the page as an error line and the last rows; ingestion does not depend on it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import psycopg2
from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

from jobs.common.settings import PostgresSettings

ROWS = 30  # minutes shown: half an hour of the newest windows
COLUMNS = (
    "window_start",
    "window_end",
    "active_users",
    "page_views",
    "searches",
    "add_to_cart",
    "checkouts",
    "purchases",
)
QUERY = f"SELECT {', '.join(COLUMNS)} FROM behaviour_minute ORDER BY window_start DESC LIMIT {ROWS}"


def snapshot(rows: list[tuple[Any, ...]], error: str | None) -> str:
    """The JSON frame a page receives: the rows (newest first) and the last read error, if any."""
    out = [
        {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in zip(COLUMNS, row, strict=True)
        }
        for row in rows
    ]
    return json.dumps({"rows": out, "error": error}, separators=(",", ":"))


class LiveFeed:
    """Reads ``behaviour_minute`` and pushes changed snapshots to every open ``/live/updates`` socket."""

    def __init__(self, pg: PostgresSettings, poll_seconds: float) -> None:
        self.pg, self.poll_seconds = pg, poll_seconds
        self.viewers: set[ServerConnection] = set()
        self.frame = snapshot([], "not read yet")
        self._conn: Any = None

    def _read(self) -> list[tuple[Any, ...]]:
        """One query on a kept connection (reopened after a failure); runs in a worker thread."""
        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(self.pg.dsn(), connect_timeout=5)
            self._conn.autocommit = True
        try:
            with self._conn.cursor() as cur:
                cur.execute(QUERY)
                return list(cur.fetchall())
        except psycopg2.Error:
            self._conn.close()
            raise

    async def run(self) -> None:
        """Poll until cancelled; broadcast each snapshot that differs from the last one."""
        rows: list[tuple[Any, ...]] = []
        while True:
            try:
                rows, error = await asyncio.to_thread(self._read), None
            except psycopg2.Error as err:
                error = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
            frame = snapshot(rows, error)
            if frame != self.frame:
                self.frame = frame
                broadcast(self.viewers, frame)
            await asyncio.sleep(self.poll_seconds)

    async def serve(self, ws: ServerConnection) -> None:
        """One viewer: the current snapshot at once, then every change until it leaves (or the gateway drains)."""
        self.viewers.add(ws)
        try:
            await ws.send(self.frame)
            await ws.wait_closed()
        except ConnectionClosed:
            pass
        finally:
            self.viewers.discard(ws)

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Brook · user behaviour, live</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
  table { border-collapse: collapse; }
  th, td { padding: .3em .8em; border-bottom: 1px solid #ddd; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  #status { margin-bottom: 1em; }
  .error { color: #a00; }
</style>
</head>
<body>
<h1>User behaviour, per minute</h1>
<div id="status">connecting…</div>
<table>
  <thead><tr><th>minute (UTC)</th><th>active users</th><th>page views</th><th>searches</th><th>add to cart</th>
  <th>checkouts</th><th>purchases</th></tr></thead>
  <tbody id="rows"></tbody>
</table>
<script>
"use strict";
const COLUMNS = ["active_users", "page_views", "searches", "add_to_cart", "checkouts", "purchases"];
const status = document.getElementById("status");
const body = document.getElementById("rows");
let frames = 0;
function render(data) {
  frames += 1;
  body.replaceChildren(...data.rows.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.windowStart = row.window_start;
    const cells = [row.window_start.slice(0, 16).replace("T", " ")].concat(COLUMNS.map((c) => String(row[c])));
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    return tr;
  }));
  status.className = data.error ? "error" : "";
  const live = "live · " + data.rows.length + " minutes · update " + frames;
  status.textContent = data.error ? "database: " + data.error : live;
  status.dataset.frames = String(frames);
}
function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "/live/updates");
  socket.onmessage = (event) => render(JSON.parse(event.data));
  socket.onclose = () => { status.textContent = "disconnected; retrying…"; setTimeout(connect, 2000); };
}
connect();
</script>
</body>
</html>
"""
