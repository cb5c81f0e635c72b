"""Flink job: all four window tables in one job reading the topic once (local demo and benchmarks: 2 cores)."""

import sys

from jobs.flink.skeleton import AGGREGATIONS, main

if __name__ == "__main__":
    sys.exit(main(list(AGGREGATIONS)))
