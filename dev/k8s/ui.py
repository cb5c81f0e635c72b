"""`make ui`: port-forward Brook's web UIs to 127.0.0.1 and say where each one's credentials live.

Port-forwarding (not NodePorts) keeps the kind config free of host ports and works on any cluster. Services and
Secrets are found by name in the namespace, so a UI the release does not deploy is reported, not fatal. Ctrl-C stops
every forward this started.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UI:
    """A web UI: the Service serving it (name pattern, port), where to expose it, and its credential Secret."""

    title: str
    service: str  # regex on the Service name
    ports: tuple[int | str, ...]  # the Service port to forward: first of these the Service has (number or name)
    local_port: int
    secret: str = ""  # regex on the Secret name; "" = no login
    path: str = "/"
    note: str = ""


UIS = (
    UI("Flink UI", r"-rest$", (8081, "rest"), 8081, note="one per FlinkDeployment; no login (reachable only here)"),
    UI(
        "Airflow UI",
        r"(api-server|webserver)$",
        (8080, "airflow-ui", "api-server"),
        8080,
        secret=r"airflow.*(admin|user)",
    ),
    UI("MinIO console", r"minio(-console)?$", ("console", 9001), 9001, secret=r"minio"),
    UI("Kafka UI", r"kafka-ui$", (8080, 80, "http"), 8088, note="no login (reachable only here)"),
    UI("pgAdmin", r"pgadmin$", (80, "http", 5050), 5050, secret=r"pgadmin"),
)
# Not UIs, but what a UI asks for: the database and Kafka credentials.
EXTRA_SECRETS = (
    ("Postgres (CNPG app user)", r"-app$"),
    ("Kafka users (Strimzi KafkaUser)", r"^brook-.*(producer|consumer|flink|exporter)"),
)


def kubectl_json(context: str, namespace: str, kinds: str) -> list[dict[str, Any]]:
    cmd = ["kubectl", "--context", context, "-n", namespace, "get", kinds, "-o", "json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"ui: {' '.join(cmd)} failed: {proc.stderr.strip()} (is the cluster up? make up)")
    return json.loads(proc.stdout)["items"]


def service_port(service: dict[str, Any], wanted: tuple[int | str, ...]) -> int | None:
    """The Service's port number matching the first wanted port (by number or name), if any."""
    ports = service["spec"].get("ports") or []
    for want in wanted:
        for port in ports:
            if port.get("port") == want or port.get("name") == want:
                return int(port["port"])
    return None


def free_port(start: int) -> int:
    """``start`` or the next port free on 127.0.0.1 (a local service may hold the usual one)."""
    for port in range(start, start + 100):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"ui: no free local port from {start}")


def secret_lines(secrets: list[dict[str, Any]], pattern: str, context: str, namespace: str) -> list[str]:
    lines = []
    for secret in secrets:
        name = secret["metadata"]["name"]
        if not re.search(pattern, name):
            continue
        for key in sorted(secret.get("data") or {}):
            lines.append(
                f"    Secret {name}, key {key}: kubectl --context {context} -n {namespace} get secret {name} "
                f"-o jsonpath='{{.data.{key}}}' | base64 -d; echo"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", default="kind-brook")
    parser.add_argument("--namespace", default="brook")
    args = parser.parse_args(argv)
    services = kubectl_json(args.context, args.namespace, "services")
    secrets = kubectl_json(args.context, args.namespace, "secrets")
    forwards: list[subprocess.Popen] = []
    report: list[str] = []
    for ui in UIS:
        matches = sorted(
            (s for s in services if re.search(ui.service, s["metadata"]["name"])), key=lambda s: s["metadata"]["name"]
        )
        found = [(s, service_port(s, ui.ports)) for s in matches]
        found = [(s, p) for s, p in found if p]
        if not found:
            report.append(
                f"{ui.title}: not deployed in namespace {args.namespace} (no Service matching /{ui.service}/)"
            )
            continue
        for service, port in found:
            local = free_port(ui.local_port)
            name = service["metadata"]["name"]
            cmd = ["kubectl", "--context", args.context, "-n", args.namespace, "port-forward", "--address", "127.0.0.1"]
            forwards.append(subprocess.Popen([*cmd, f"svc/{name}", f"{local}:{port}"], stdout=subprocess.DEVNULL))
            report.append(
                f"{ui.title} ({name}): http://127.0.0.1:{local}{ui.path}" + (f"  [{ui.note}]" if ui.note else "")
            )
            if ui.secret:
                report += secret_lines(secrets, ui.secret, args.context, args.namespace) or [
                    f"    (no Secret matching /{ui.secret}/: see docs/kubernetes.md#credentials)"
                ]
    for title, pattern in EXTRA_SECRETS:
        lines = secret_lines(secrets, pattern, args.context, args.namespace)
        if lines:
            report += [f"{title}:", *lines]
    print("\n".join(report))
    if not forwards:
        return 1
    print("\nPort-forwarding; Ctrl-C stops.")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(f.poll() is None for f in forwards):
            time.sleep(1)
        print("ui: a port-forward ended (pod restarted?); run `make ui` again", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for f in forwards:
            f.terminate()
        for f in forwards:
            f.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
