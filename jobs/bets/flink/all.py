"""Flink job: all four window tables in one job reading the topic once (local demo and benchmarks: 2 cores)."""

from jobs.bets.flink.skeleton import AGGREGATIONS, run_job

if __name__ == "__main__":
    run_job(list(AGGREGATIONS))
