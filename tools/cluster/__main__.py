"""``python -m tools.cluster up|down|status``: what `make cluster`, `make cluster-down` and `make cluster-status` run.

Errors name the cause and the fix and exit 1 without a traceback; ``up`` and ``down`` print each step's time. A
failed ``up`` removes what it started (as ``down`` does) and keeps the logs in $BROOK_HOME/cluster/logs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from tools.cluster.config import Layout
from tools.cluster.node import Cluster, ClusterError
from tools.versions import brook_home


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cluster", description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status"))
    args = parser.parse_args(argv)
    go = os.environ.get("GO") or shutil.which("go") or "/usr/local/go/bin/go"
    cluster = Cluster(layout=Layout.default(), bin=brook_home() / "bin", go=go)
    try:
        if args.command == "up":
            cluster.up()
        elif args.command == "down":
            return 1 if cluster.down() else 0
        else:
            print(json.dumps(cluster.status(), indent=2))
    except ClusterError as err:
        if args.command == "up" and cluster.layout.state.exists():  # it got past the preflight checks
            cluster.down()
        print(f"cluster {args.command}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
