"""prometheus.yml for `make metrics`: a local Prometheus scraping Brook's local processes, with Brook's alert rules.

``python -m jobs.local.prometheus_config --out .brook/metrics/prometheus.yml [--target job=host:port ...]``

Local processes expose metrics when started with ``BROOK_METRICS_PORT`` (jobs/common/metrics.py); the default
targets are the ports docs/metrics.md gives each job locally. The rule files are the chart's own
(charts/brook/files/alerts/*.yaml): the same alerts evaluate here and in Kubernetes. Everything on 127.0.0.1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "charts" / "brook" / "files" / "alerts"
# job → local metrics port (BROOK_METRICS_PORT to start it with); docs/metrics.md "Locally".
LOCAL_PORTS = {"producer": 9401, "consumer": 9402, "exporter": 9403, "gateway": 9404}


def config(targets: dict[str, str], prometheus: str, interval: str = "5s") -> dict:
    """The scrape config: one job per Brook process, plus Prometheus itself."""
    scrapes = [{"job_name": "prometheus", "static_configs": [{"targets": [prometheus]}]}]
    for job, target in sorted(targets.items()):
        scrapes.append({"job_name": job, "static_configs": [{"targets": [target], "labels": {"namespace": "local"}}]})
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(path) for path in sorted(ALERTS.glob("*.yaml"))],
        "scrape_configs": scrapes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--prometheus", default="127.0.0.1:9090", help="Prometheus' own address (self-scrape)")
    parser.add_argument("--target", action="append", default=[], metavar="JOB=HOST:PORT", help="add or replace one")
    args = parser.parse_args(argv)
    targets = {job: f"127.0.0.1:{port}" for job, port in LOCAL_PORTS.items()}
    for item in args.target:
        job, sep, target = item.partition("=")
        if not sep or ":" not in target:
            parser.error(f"--target {item!r}: use JOB=HOST:PORT")
        targets[job] = target
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(yaml.safe_dump(config(targets, args.prometheus), sort_keys=False))
    print(f"wrote {args.out}: {', '.join(f'{j}={t}' for j, t in sorted(targets.items()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
