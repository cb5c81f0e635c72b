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
    """A web UI: the Service serving it (name pattern, port), where to expose it, and where its login lives."""

    title: str
    service: str  # regex on the Service name
    ports: tuple[int | str, ...]  # the Service port to forward: first of these the Service has (name or number)
    local_port: int
    secret: str = ""  # the Secret holding the login ("" = no login)
    keys: tuple[str, ...] = ()  # its keys: user, password
    note: str = ""
    made_by: str = ""  # who creates the Service when not charts/brook ("" = charts/brook renders it)
    monitoring: bool = False  # lives in --monitoring-namespace (kube-prometheus-stack's), not Brook's namespace


# Names as charts/brook renders them (tests/charts/test_k8s.py checks), Flink's `<FlinkDeployment>-rest` Services as
# the Flink operator creates them, Airflow's and Superset's as their official charts name them in releases `airflow`
# and `superset`, Grafana's as kube-prometheus-stack's Grafana chart names it (`<release>-grafana`, its login Secret
# has the same name; `{service}` in `secret` stands for the Service found).
UIS = (
    UI(
        "Flink UI",
        r"-rest$",
        ("rest", 8081),
        8081,
        note="one per FlinkDeployment; no login, reachable only here",
        made_by="the Flink operator",
    ),
    UI(
        "Airflow UI",
        r"^airflow-api-server$",
        ("api-server", 8080),
        8080,
        note="user admin; Airflow 3's SimpleAuthManager generates the password at first start: "
        "kubectl -n brook exec deploy/airflow-api-server -- "
        "cat /opt/airflow/simple_auth_manager_passwords.json.generated",
        made_by="the airflow release",
    ),
    UI(
        "Superset",
        r"^superset$",
        ("http", 8088),
        8089,
        secret="brook-superset-env",
        keys=("ADMIN_PASSWORD",),
        note="user admin; dashboards Brook · bets, telecom, IoT, behaviour, e-commerce (docs/dashboards.md)",
        made_by="the superset release",
    ),
    UI(
        "Grafana",
        r"-grafana$",
        ("http-web", 80),
        3000,
        secret="{service}",
        keys=("admin-user", "admin-password"),
        note="dashboard Brook pipelines, with monitoring.enabled (docs/metrics.md)",
        made_by="kube-prometheus-stack",
        monitoring=True,
    ),
    UI(
        "MinIO console",
        r"^brook-minio$",
        ("console", 9001),
        9001,
        secret="brook-minio",
        keys=("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"),
    ),
    UI(
        "Kafka UI",
        r"^brook-kafka-ui$",
        ("http", 8080),
        8088,
        secret="brook-kafka-ui",
        keys=("SPRING_SECURITY_USER_NAME", "SPRING_SECURITY_USER_PASSWORD"),
    ),
    UI(
        "pgAdmin",
        r"^brook-pgadmin$",
        ("http", 80),
        5050,
        secret="brook-pgadmin",
        keys=("PGADMIN_DEFAULT_EMAIL", "PGADMIN_DEFAULT_PASSWORD"),
        note="database: host brook-pg-rw, database brook, login below",
    ),
)
# Not a UI, but what pgAdmin asks for: the database login (the CNPG Cluster's bootstrap Secret).
EXTRA_SECRETS = (("Postgres login (pgAdmin → brook-pg-rw)", "brook-pg-app-credentials", ("username", "password")),)


def kubectl_json(context: str, namespace: str, kinds: str, required: bool = True) -> list[dict[str, Any]]:
    """``kubectl get kinds -o json``'s items; an optional namespace (monitoring) that fails yields none."""
    cmd = ["kubectl", "--context", context, "-n", namespace, "get", kinds, "-o", "json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 and not required:
        return []
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


def free_port(start: int, taken: set[int]) -> int:
    """``start`` or the next port free on 127.0.0.1 and not yet ``taken`` by this run (a local service may hold it)."""
    for port in range(start, start + 100):
        if port in taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            taken.add(port)
            return port
    raise SystemExit(f"ui: no free local port from {start}")


def secret_lines(
    secrets: dict[str, dict[str, Any]], name: str, keys: tuple[str, ...], context: str, ns: str
) -> list[str]:
    """How to read each key of Secret ``name`` (or why not)."""
    if name not in secrets:
        return [f"    (Secret {name} does not exist yet in namespace {ns})"]
    return [
        f"    {key}: kubectl --context {context} -n {ns} get secret {name} "
        f"-o jsonpath='{{.data.{key}}}' | base64 -d; echo"
        for key in keys
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", default="kind-brook")
    parser.add_argument("--namespace", default="brook")
    parser.add_argument(
        "--monitoring-namespace", default="monitoring", help="kube-prometheus-stack's (monitoring.prometheusNamespace)"
    )
    args = parser.parse_args(argv)
    found_in: dict[str, tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]] = {}
    for ns, required in ((args.namespace, True), (args.monitoring_namespace, False)):
        secrets = {s["metadata"]["name"]: s for s in kubectl_json(args.context, ns, "secrets", required)}
        found_in[ns] = (kubectl_json(args.context, ns, "services", required), secrets)
    forwards: list[subprocess.Popen] = []
    report: list[str] = []
    taken: set[int] = set()
    for ui in UIS:
        ns = args.monitoring_namespace if ui.monitoring else args.namespace
        services, secrets = found_in[ns]
        matches = sorted(
            (s for s in services if re.search(ui.service, s["metadata"]["name"])), key=lambda s: s["metadata"]["name"]
        )
        found = [(s, service_port(s, ui.ports)) for s in matches]
        found = [(s, p) for s, p in found if p]
        if not found:
            report.append(f"{ui.title}: not deployed in namespace {ns} (no Service matching /{ui.service}/)")
            continue
        for service, port in found:
            local = free_port(ui.local_port, taken)
            name = service["metadata"]["name"]
            cmd = ["kubectl", "--context", args.context, "-n", ns, "port-forward", "--address", "127.0.0.1"]
            forwards.append(subprocess.Popen([*cmd, f"svc/{name}", f"{local}:{port}"], stdout=subprocess.DEVNULL))
            report.append(f"{ui.title} ({name}): http://127.0.0.1:{local}/" + (f"  [{ui.note}]" if ui.note else ""))
            if ui.secret:
                report += secret_lines(secrets, ui.secret.format(service=name), ui.keys, args.context, ns)
    for title, name, keys in EXTRA_SECRETS:
        report += [f"{title}:", *secret_lines(found_in[args.namespace][1], name, keys, args.context, args.namespace)]
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
