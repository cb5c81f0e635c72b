"""``python -m tools.cnpg install|uninstall``: what `make cnpg-install` and `make cnpg-uninstall` run against the
running node of `make cluster` (tools/cnpg/operator.py). Errors name the cause and the fix and exit 1."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from tools.cluster.config import Layout
from tools.cluster.node import Cluster
from tools.cnpg import relay
from tools.cnpg.operator import CnpgError, install, uninstall
from tools.versions import brook_home


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cnpg", description=__doc__)
    parser.add_argument("command", choices=("install", "uninstall"))
    parser.add_argument("--operator", type=Path, help="the operator image's OCI archive (make cnpg-images)")
    parser.add_argument("--postgres", type=Path, help="the Postgres image's OCI archive (make cnpg-images)")
    args = parser.parse_args(argv)
    go = os.environ.get("GO") or shutil.which("go") or "/usr/local/go/bin/go"
    cluster = Cluster(layout=Layout.default(), bin=brook_home() / "bin", go=go)
    running = cluster.running()
    if not running or not all(running.values()):
        if args.command == "uninstall":  # nothing left in a stopped cluster but our relay process
            relay.stop_process()
            return 0
        print(f"cnpg {args.command}: the node is not running: run `make cluster` first", file=sys.stderr)
        return 1
    try:
        if args.command == "install":
            if not args.operator or not args.postgres:
                parser.error("install needs --operator and --postgres (the archives of make cnpg-images)")
            took = install(cluster, args.operator, args.postgres)
            print("cnpg install: " + ", ".join(f"{step} {secs:.1f}s" for step, secs in took.items()))
        else:
            uninstall(cluster)
    except CnpgError as err:
        print(f"cnpg {args.command}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
