"""Flink job: the `bet_status` window table (DESIGN §2.2). Aggregation in jobs/bets/flink/skeleton.py; run with -m."""

from jobs.bets.flink.skeleton import run_job

if __name__ == "__main__":
    run_job(["bet_status"])
