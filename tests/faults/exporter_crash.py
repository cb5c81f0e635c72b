"""``python -m tests.faults.exporter_crash N``: an exporter run that kill -9s itself right after uploading its N-th
batch's object and before marking the batch's rows: the object exists, the rows say "not exported" and the lease
is still held. Only a hook can hit that instant from outside the process."""

from __future__ import annotations

import os
import signal
import sys

from jobs.bets.export_ledger import Batch
from jobs.bets.exporter import Exporter, ExportSettings
from jobs.common.settings import PostgresSettings, S3Settings, load


def main(crash_at: int) -> None:
    uploaded: list[Batch] = []

    def die(batch: Batch) -> None:
        uploaded.append(batch)
        if len(uploaded) == crash_at:
            print(f"[exporter-crash] uploaded {batch.object_key}; kill -9 before marking its rows", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    exporter = Exporter(load(PostgresSettings), load(S3Settings), load(ExportSettings))
    exporter.run(after_upload=die)
    print("[exporter-crash] finished without reaching the crash point", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
