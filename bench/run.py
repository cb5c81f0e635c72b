"""``make bench``: every stage of the bets pipeline against its raw baseline, in one run, on the same data.

``python -m bench.run [--quick] [--repeat N] [--events N] [--stages a,b] [--scaling N,N,...]`` — for each stage:
one warm-up trial of each variant (discarded), then ``repeat`` trials alternating brook/baseline so drift on a
noisy machine hits both; the table shows the median with the min–max spread, the ratio brook/baseline of the
medians and the peak RSS. The Markdown table goes to ``bench/results/<UTC date>-<mode>.md`` with the machine and
the exact settings. ``--quick`` (CI) only proves the benchmark runs: tiny sizes, one trial. ``--scaling`` adds
the scaling sweep and peak memory of the shipped producer, consumer and exporter (bench/scaling.py) at each size
(alone: no stage runs unless ``--stages`` names some); a full run without either option runs every stage and the
sweep at :data:`SCALING_SIZES`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import scaling
from jobs.local.services import LocalServices

RESULTS = Path(__file__).with_name("results")
STAGES = {  # stage: (unit counted, full-mode events, what the baseline is)
    "producer": ("events", 200_000, "plain kafka-python loop, library defaults"),
    "consumer": ("rows", 200_000, "raw COPY of the same rows from memory"),
    # Brook: `python -m jobs.bets.consumer` with 2 worker processes; baseline: the same with 1 (process start to
    # the last row committed, both)
    "consumer_processes": ("rows", 200_000, "the same consumer command with 1 process"),
    "exporter": ("rows", 300_000, "COPY TO STDOUT → pyarrow → one PUT"),
    # Brook: the last N rows with 20 × N (BROOK_BENCH_FLAT_FACTOR) already exported; baseline: N already exported
    "exporter_flat": (
        "rows",
        100_000,
        "the same export with 1 × (Brook: BROOK_BENCH_FLAT_FACTOR ×, default 20) as many rows exported before",
    ),
    "flink": ("events", 300_000, "Flink SQL pass-through: same source → blackhole"),
    "flink_p2": ("events", 300_000, "the same four aggregations at parallelism 1 (Brook: 2)"),
    # size = seconds of production at LATENCY_RATE; no baseline (the table has none for this stage)
    "latency": ("events", 60, "—"),
    "latency_2k": ("events", 60, "—"),
    "latency_10k": ("events", 60, "—"),
    # a private archiving Postgres of N bets rows; MB/s = database size / time (docs/backups.md)
    "backup": ("rows", 300_000, "pg_basebackup to local disk (Brook: barman-cloud-backup to MinIO)"),
    "restore": ("rows", 300_000, "copy of a local pg_basebackup + start (Brook: restore + WAL replay)"),
    # bench/cdc.py: INSERT into iot_readings → Debezium → change topic; cinema `dbt build` on N raw events
    "cdc": ("rows", 50_000, "the same rows as JSON straight to Kafka (kafka-python, platform producer settings)"),
    "dbt_10k": ("events", 10_000, "one SQL GROUP BY film, hour over the same raw events"),
    "dbt_100k": ("events", 100_000, "one SQL GROUP BY film, hour over the same raw events"),
    # size = seconds of one-row commits at LATENCY_RATES' rate into iot_readings, the IoT Flink job unbounded
    "iot_window_latency": ("rows", 60, "—"),
    # bench/behaviour.py: N WebSocket clients → gateway → Kafka (acks=all), clocked to the last ack frame
    "gateway": ("events", 50_000, "the same events produced straight to Kafka, same producer settings and in-flight"),
    # bench/ecommerce.py: size = orders of one generated day (~7.5 input rows each); count = input rows
    "ecommerce_batch": ("rows", 20_000, "a raw pyarrow read (pyarrow.json) of the same four files from MinIO"),
    # bench/telecom.py: the three telecom stages, each with its raw baseline
    "telecom_generator": ("events", 200_000, "the same produce loop sending the same bytes, generated beforehand"),
    "telecom_windows": ("events", 20_000, "Flink SQL pass-through: same source → blackhole"),
    # size = real_time_metrics rows of one day (80,640 = every type × region of every 1-minute window)
    "telecom_daily": ("rows", 80_640, "one plain GROUP BY event_type, region over the same rows"),
}
# Left out of --quick (make test) to keep it short: two more Flink jobs and two minutes of load each; the IoT Connect
# worker and dbt stages (bench/cdc.py) start a JVM or dbt per trial.
NOT_QUICK = {
    "flink_p2",
    "latency_2k",
    "latency_10k",
    "cdc",
    "dbt_10k",
    "dbt_100k",
    "iot_window_latency",
    "ecommerce_batch",
    "telecom_windows",
}
QUICK_STAGES = [s for s in STAGES if s not in NOT_QUICK]
SCALING_SIZES = "100000,1000000"  # the issue asks for 5M too: over an hour on 2 shared cores (2026-11-28 results)
# events/s per latency stage: 100 is far under what the Flink job sustains (bench/results/2026-11-28-flink-verdict.md);
# 2k and 10k are the issue-17 goals (p99 ≤ window + 2 s)
LATENCY_RATES = {"latency": 100, "latency_2k": 2_000, "latency_10k": 10_000, "iot_window_latency": 100}
LATENCY_SLACK_S = 2
# Targets of issue 17: ("rate", unit/s the Brook median must reach) or ("ratio", Brook median / baseline median)
TARGETS: dict[str, tuple[str, float]] = {
    "producer": ("rate", 25_000),
    "consumer": ("rate", 50_000),
    "consumer_processes": ("ratio", 1.8),
    "exporter": ("ratio", 0.5),
    "exporter_flat": ("ratio", 0.9),  # "flat": the last 100k rows cost at most ~10 % more with 20× the history
    "flink": ("ratio", 0.6),
    "flink_p2": ("ratio", 1.6),
}


@dataclass
class Series:
    trials: list[dict[str, Any]] = field(default_factory=list)

    def rates(self) -> list[float]:
        return [t["count"] / t["seconds"] for t in self.trials]

    def median(self) -> float:
        return statistics.median(self.rates())

    def spread(self) -> str:
        rates = self.rates()
        return f"{min(rates):,.0f}–{max(rates):,.0f}"

    def mb_per_s(self) -> float:
        return statistics.median(t["bytes"] / t["seconds"] / 1e6 for t in self.trials)

    def peak_mb(self) -> float:
        return max(t["maxrss_kb"] for t in self.trials) / 1024


def trial(env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.stages", *args], env=env, capture_output=True, text=True, timeout=1800
    )
    if proc.returncode != 0:
        raise SystemExit(f"bench trial {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    marked = [line for line in proc.stdout.splitlines() if line.startswith("BENCH_RESULT ")]
    if not marked:
        raise SystemExit(f"bench trial {' '.join(args)} printed no result:\n{proc.stdout[-2000:]}")
    return json.loads(marked[-1].removeprefix("BENCH_RESULT "))


def run_stage(stage: str, events: int, repeat: int, env: dict[str, str], warmup: bool) -> dict[str, Series]:
    extra: list[str] = []
    if stage in ("consumer", "consumer_processes", "flink", "flink_p2"):
        source = f"bench-source-{int(time.time())}"
        print(f"[bench] filling {source} with {events} events", flush=True)
        trial_env = dict(env)
        subprocess.run(
            [sys.executable, "-m", "bench.stages", "fill", "brook", "--events", str(events), "--source", source],
            env=trial_env,
            check=True,
        )
        extra = ["--source", source]
    if stage in LATENCY_RATES:
        extra = ["--rate", str(LATENCY_RATES[stage])]
        warmup = False  # the trial has its own warm-up (job start before the clock)
    series = {"brook": Series()} if stage in LATENCY_RATES else {"brook": Series(), "baseline": Series()}
    if warmup:
        for variant in series:
            trial(env, stage, variant, "--events", str(max(events // 10, 1000)), *extra)
    for i in range(repeat):
        for variant in series:
            result = trial(env, stage, variant, "--events", str(events), *extra)
            series[variant].trials.append(result)
            if stage in LATENCY_RATES:
                print(
                    f"[bench] latency   trial {i + 1}/{repeat}: p50 {result['p50_s']:.2f}s p99 {result['p99_s']:.2f}s"
                )
                continue
            rate = result["count"] / result["seconds"]
            print(f"[bench] {stage:<9} {variant:<8} trial {i + 1}/{repeat}: {rate:>10,.0f} {STAGES[stage][0]}/s")
    return series


def machine() -> str:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    return (
        f"{os.cpu_count()} cores, {mem_kb / 1024 / 1024:.1f} GiB RAM, {platform.platform()}, "
        f"Python {platform.python_version()}"
    )


def verdict(stage: str, rate: float, ratio: float, unit: str) -> str:
    """The issue-17 target of a stage and whether this run met it ('' when the stage has none)."""
    if stage not in TARGETS:
        return ""
    kind, goal = TARGETS[stage]
    met = (rate if kind == "rate" else ratio) >= goal
    wanted = f"≥ {goal:,.0f} {unit}/s" if kind == "rate" else f"ratio ≥ {goal}"
    return f"{wanted}: {'met' if met else 'missed'}"


def memory(series: dict[str, Series]) -> str:
    """Peak RSS of the Brook / baseline trial processes, and the Flink JVM's when the trial started one."""
    brook, base = series["brook"], series["baseline"]
    text = f"{brook.peak_mb():.0f} / {base.peak_mb():.0f} MB"
    jvm = [max(t.get("jvm_peak_rss_kb", 0) for t in s.trials) / 1024 for s in (brook, base)]
    return text + (f" (JVM {jvm[0]:.0f} / {jvm[1]:.0f} MB)" if any(jvm) else "")


def report(results: dict[str, dict[str, Series]], mode: str, events: dict[str, int], repeat: int) -> str:
    lines = [
        f"# Brook benchmark — {mode} mode, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"Machine: {machine()}. Trials per variant: {repeat} (after one discarded warm-up); figures are medians,",
        "spread is min–max over the trials, ratio = Brook median / baseline median.",
        "",
        "| stage | events | Brook (median, spread) | baseline (median, spread) | ratio | Brook MB/s "
        "| peak RSS Brook / baseline | target | baseline is |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for stage, series in results.items():
        unit, _, what = STAGES[stage]
        if stage in LATENCY_RATES:
            trials = series["brook"].trials
            p50 = statistics.median(t["p50_s"] for t in trials)
            p99 = statistics.median(t["p99_s"] for t in trials)
            window = trials[0]["window_s"]
            bound = window + LATENCY_SLACK_S
            goal = f"p99 ≤ window + {LATENCY_SLACK_S} s = {bound} s: {'met' if p99 <= bound else 'missed'}"
            path = "event → bet_status row"
            if stage == "iot_window_latency":  # no target; the windows re-emit on every change (no watermark wait)
                goal, path = "none given", "row commit → iot_windows row"
            jvm = max(t.get("jvm_peak_rss_kb", 0) for t in trials) / 1024
            # the rate the send loop reached: below the goal, the row does not measure the goal's load
            reached = [t["offered_rate"] for t in trials if "offered_rate" in t]
            sent = f" (sent at ≥ {min(reached):,.0f}/s)" if len(reached) == len(trials) else ""
            lines.append(
                f"| end to end ({path}) | {trials[0]['count']:,} at {LATENCY_RATES[stage]:,}/s{sent} | "
                f"p50 {p50:.2f} s, p99 {p99:.2f} s (window {window} s) | — | — | — | "
                f"{series['brook'].peak_mb():.0f} MB (Flink JVM {jvm:.0f} MB) | {goal} | — |"
            )
            continue
        brook, base = series["brook"], series["baseline"]
        ratio = brook.median() / base.median()
        lines.append(
            f"| {stage} | {events[stage]:,} | {brook.median():,.0f} {unit}/s ({brook.spread()}) | "
            f"{base.median():,.0f} {unit}/s ({base.spread()}) | {ratio:.2f} | "
            f"{brook.mb_per_s():.1f} | {memory(series)} | {verdict(stage, brook.median(), ratio, unit)} | {what} |"
        )
    acks = [(stage, series) for stage, series in results.items() if "p99_ack_ms" in series["brook"].trials[0]]
    if acks:  # stages that time each acknowledgement (bench/behaviour.py): medians over the trials
        lines += ["", "| stage | variant | p50 ack (ms) | p99 ack (ms) |", "|---|---|---|---|"]
        for stage, series in acks:
            for variant, s in series.items():
                p50 = statistics.median(t["p50_ack_ms"] for t in s.trials)
                p99 = statistics.median(t["p99_ack_ms"] for t in s.trials)
                lines.append(f"| {stage} | {variant} | {p50:.1f} | {p99:.1f} |")
    lines += ["", "## Settings", ""]
    for stage, series in results.items():
        for variant, s in series.items():
            lines.append(f"- {stage} / {variant}: `{json.dumps(s.trials[-1]['settings'], default=str)}`")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one trial: proves the bench runs (CI)")
    parser.add_argument("--repeat", type=int, default=3, help="trials per variant (full mode)")
    parser.add_argument("--events", type=int, default=0, help="override every stage's size")
    parser.add_argument("--stages", default="", help="comma-separated subset of " + ",".join(STAGES))
    parser.add_argument(
        "--scaling",
        default=None,
        help=f"comma-separated event counts for the scaling sweep ('' = none; full run default {SCALING_SIZES})",
    )
    args = parser.parse_args(argv)
    stages = [s for s in args.stages.split(",") if s]
    if not stages and args.scaling is None:  # make bench: every stage (quick: the short ones) and the sweep
        stages = QUICK_STAGES if args.quick else list(STAGES)
        args.scaling = "" if args.quick else SCALING_SIZES
    sizes_swept = [int(n) for n in (args.scaling or "").split(",") if n]
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stages: {', '.join(sorted(unknown))}")
    services = LocalServices()
    env = {**os.environ, **services.up()}
    repeat = 1 if args.quick else args.repeat
    sizes = {s: args.events or ((20 if s in LATENCY_RATES else 2_000) if args.quick else STAGES[s][1]) for s in stages}
    results = {s: run_stage(s, sizes[s], repeat, env, warmup=not args.quick) for s in stages}
    text = report(results, "quick" if args.quick else "full", sizes, repeat)
    if sizes_swept:
        text += scaling.table(scaling.sweep(sizes_swept, env))
    print("\n" + text)
    # Full runs are kept in the repo (before/after history); quick runs only prove the bench works.
    folder = services.paths.home / "bench" if args.quick else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{time.strftime('%Y-%m-%d-%H%M', time.gmtime())}-{'quick' if args.quick else 'full'}.md"
    out.write_text(text)
    print(f"[bench] wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
