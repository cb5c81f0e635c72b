"""Flink job: the `avg_bet` window table (DESIGN §2.2). Aggregation in jobs/flink/skeleton.py; run with -m."""

import sys

from jobs.flink.skeleton import main

if __name__ == "__main__":
    sys.exit(main(["avg_bet"]))
