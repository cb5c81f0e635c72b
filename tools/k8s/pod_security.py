"""Check rendered manifests against the Pod Security Standard `restricted` (what namespace brook enforces).

Kubernetes rejects a non-compliant pod only when it is created, i.e. in the middle of `make up`; checking the chart's
render in CI moves that failure to the pull request. Usage: `helm template ... | python -m tools.k8s.pod_security -`.
Covers the profile's checks that a manifest decides (https://kubernetes.io/docs/concepts/security/pod-security-standards/);
pods made by operators (Kafka, Postgres) are covered by the operators' settings instead (operators/).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}


def pod_specs(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, pod spec) for every pod template a manifest carries, including a FlinkDeployment's podTemplates."""
    kind, name = obj.get("kind"), obj.get("metadata", {}).get("name")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        yield f"Pod/{name}", spec
    elif kind in WORKLOADS:
        yield f"{kind}/{name}", (spec.get("template") or {}).get("spec") or {}
    elif kind == "CronJob":
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        yield f"CronJob/{name}", (job.get("template") or {}).get("spec") or {}
    elif kind == "FlinkDeployment":
        yield from flink_pod_specs(name, spec)


def flink_pod_specs(name: str, spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The JobManager and TaskManager pods as the operator builds them: the shared podTemplate, overlaid per role.

    The operator's main container is `flink-main-container`; it exists even when the template does not list it, so
    a template without it is checked as a container with no securityContext (non-compliant).
    """
    base = (spec.get("podTemplate") or {}).get("spec") or {}
    for role in ("jobManager", "taskManager"):
        own = ((spec.get(role) or {}).get("podTemplate") or {}).get("spec") or {}
        merged = {**base, **own}
        merged["securityContext"] = {**(base.get("securityContext") or {}), **(own.get("securityContext") or {})}
        containers = {c.get("name"): c for c in base.get("containers") or []}
        for c in own.get("containers") or []:
            containers[c.get("name")] = {**containers.get(c.get("name"), {}), **c}
        containers.setdefault("flink-main-container", {"name": "flink-main-container"})
        merged["containers"] = list(containers.values())
        yield f"FlinkDeployment/{name} ({role})", merged


def violations(spec: dict[str, Any]) -> list[str]:
    """Every `restricted` rule this pod spec breaks, as readable strings (empty: compliant)."""
    found = []
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            found.append(f"{flag}: true")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            found.append(f"volume {volume.get('name')}: type {', '.join(sorted(kinds - ALLOWED_VOLUMES))}")
    pod_ctx = spec.get("securityContext") or {}
    if pod_ctx.get("runAsUser") == 0:
        found.append("pod runAsUser: 0")
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    for c in containers:
        found += [f"container {c.get('name')}: {v}" for v in container_violations(c, pod_ctx)]
    return found


def container_violations(container: dict[str, Any], pod_ctx: dict[str, Any]) -> list[str]:
    """The `restricted` rules one container breaks, given its pod's securityContext."""
    ctx = container.get("securityContext") or {}
    found = []
    if ctx.get("privileged"):
        found.append("privileged")
    if ctx.get("allowPrivilegeEscalation") is not False:
        found.append("allowPrivilegeEscalation is not false")
    caps = ctx.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        found.append("capabilities.drop lacks ALL")
    if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
        found.append(f"capabilities.add {caps['add']}")
    if ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is not True:
        found.append("runAsNonRoot is not true (container or pod)")
    if ctx.get("runAsUser") == 0:
        found.append("runAsUser: 0")
    seccomp = (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        found.append("seccompProfile is not RuntimeDefault/Localhost (container or pod)")
    for port in container.get("ports") or []:
        if port.get("hostPort"):
            found.append(f"hostPort {port['hostPort']}")
    return found


def check(objects: list[dict[str, Any]]) -> dict[str, list[str]]:
    """where → violations, for every non-compliant pod template among ``objects``."""
    report = {}
    for obj in objects:
        for where, spec in pod_specs(obj):
            problems = violations(spec)
            if problems:
                report[where] = problems
    return report


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: pod_security.py FILE|-", file=sys.stderr)
        return 2
    text = sys.stdin.read() if argv[0] == "-" else Path(argv[0]).read_text()
    objects = [o for o in yaml.safe_load_all(text) if isinstance(o, dict)]
    report = check(objects)
    for where, problems in report.items():
        print(f"{where}: {'; '.join(problems)}")
    return 1 if report else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
