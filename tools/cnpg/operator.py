"""Installs the real CloudNativePG operator on the node of `make cluster` (`make cnpg-install`, tests/k8s_node).

Why from the Go module: the operator's manifests (CRDs, RBAC, webhooks, Deployment) are files of the module the
manager is built from (config/default, a kustomization), so the node runs exactly what that version ships, read from
the module cache (`go mod download`), never copied into the repository. `kubectl kustomize` renders them; only what
this machine needs changes: the image (built here, imported into containerd, never pulled), the default Postgres
image (the operator's ConfigMap: the chart's Cluster names none, and the official one is not obtainable), and the
namespace enforcing Pod Security `restricted` (the operator's pod meets it as shipped).

The admission webhooks are the operator's own: it makes its certificate and patches the webhook configurations'
CA bundle; the API server on the host reaches the webhook Service's ClusterIP through kube-proxy's rules. The other
way, the operator's pods reach the API server through tools/cnpg/relay.py (the node's control plane listens on
loopback only).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import yaml

from tools.cluster import image
from tools.cluster.node import Cluster
from tools.cluster.waiting import poll
from tools.cnpg import relay
from tools.versions import get

MODULE = "github.com/cloudnative-pg/cloudnative-pg"
NAMESPACE = "cnpg-system"  # config/default's namespace
DEPLOYMENT = "cnpg-controller-manager"  # config/default's namePrefix + config/manager's name
CONFIG_MAP = f"{DEPLOYMENT}-config"  # the Deployment's --config-map-name
PROBE_NAMESPACE = "default"  # where the webhook check's server-side dry run is addressed


class CnpgError(RuntimeError):
    """A step of the install failed; the message names the cause and the fix."""


def version() -> str:
    """The operator version: versions.env's CNPG_APP_VERSION (the kind setup's chart runs the same operator)."""
    return get("CNPG_APP_VERSION")


def module_dir(go: str) -> Path:
    """The module's folder in Go's module cache (downloaded from the module proxy if absent: `make cnpg-images`
    already did, building the manager)."""
    proc = subprocess.run(
        [go, "mod", "download", "-json", f"{MODULE}@v{version()}"],
        capture_output=True, text=True, timeout=600, check=False, cwd="/",
        env={**os.environ, "GOFLAGS": "-mod=mod"},
    )  # fmt: skip
    if proc.returncode != 0:
        raise CnpgError(f"go mod download {MODULE}@v{version()} failed: {proc.stdout}{proc.stderr}")
    return Path(json.loads(proc.stdout)["Dir"])


def archive_image_name(archive: Path) -> str:
    """The image name an OCI archive's index gives (buildah writes it as org.opencontainers.image.ref.name)."""
    if not archive.exists():
        raise CnpgError(f"{archive} missing: run `make cnpg-images`")
    with tarfile.open(archive) as tar:
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
    (manifest,) = index["manifests"]
    return manifest["annotations"]["org.opencontainers.image.ref.name"]


def manifests(kubectl: str, go: str, operator_image: str, postgres_image: str) -> list[dict]:
    """config/default of the module rendered by `kubectl kustomize`, with this machine's images."""
    source = module_dir(go) / "config" / "default"
    proc = subprocess.run([kubectl, "kustomize", str(source)], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise CnpgError(f"kubectl kustomize {source} failed: {proc.stderr}")
    docs = [doc for doc in yaml.safe_load_all(proc.stdout) if doc]
    for doc in docs:
        kind, name = doc["kind"], doc["metadata"]["name"]
        if kind == "Namespace" and name == NAMESPACE:
            doc["metadata"].setdefault("labels", {})["pod-security.kubernetes.io/enforce"] = "restricted"
        if kind == "Deployment" and name == DEPLOYMENT:
            (container,) = doc["spec"]["template"]["spec"]["containers"]
            container["image"], container["imagePullPolicy"] = operator_image, "IfNotPresent"
            for env in container["env"]:
                if env["name"] == "OPERATOR_IMAGE_NAME":  # the image of every Postgres pod's bootstrap container
                    env["value"] = operator_image
    if not any(d["kind"] == "Deployment" and d["metadata"]["name"] == DEPLOYMENT for d in docs):
        raise CnpgError(f"{source} rendered no Deployment {DEPLOYMENT}: has the module's layout changed?")
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONFIG_MAP, "namespace": NAMESPACE},
        "data": {"POSTGRES_IMAGE_NAME": postgres_image},
    }
    # After the Namespace, before the Deployment: the operator reads its ConfigMap once, at start.
    first = next(i for i, d in enumerate(docs) if d["kind"] == "Namespace") + 1
    return [*docs[:first], config, *docs[first:]]


def _ok(proc: subprocess.CompletedProcess[str], what: str) -> str:
    if proc.returncode != 0:
        raise CnpgError(f"{what} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return proc.stdout


def webhook_answers(cluster: Cluster) -> bool:
    """Whether the API server gets an answer from the operator's webhooks: a server-side dry run of a minimal
    Cluster goes through the mutating and validating webhooks (failurePolicy Fail) and persists nothing."""
    probe = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "webhook-probe", "namespace": PROBE_NAMESPACE},
        "spec": {"instances": 1, "storage": {"size": "1Gi"}},
    }
    proc = cluster.kubectl("create", "--dry-run=server", "-o", "json", "-f", "-", stdin=json.dumps(probe))
    # The mutating webhook fills in the defaults, among them the image from the operator's ConfigMap.
    return proc.returncode == 0 and bool(json.loads(proc.stdout)["spec"].get("imageName"))


def install(cluster: Cluster, operator_archive: Path, postgres_archive: Path, timeout: float = 300) -> dict:
    """Import both images, apply the operator's manifests and wait until its Deployment is available and its
    webhooks answer; returns the seconds of each step (the last two counted from the apply)."""
    go = os.environ.get("GO") or shutil.which("go") or "/usr/local/go/bin/go"
    operator_image = archive_image_name(operator_archive)
    postgres_image = archive_image_name(postgres_archive)
    took: dict[str, float] = {}
    start = time.monotonic()
    for archive in (operator_archive, postgres_archive):
        image.import_image(archive, cluster.layout.socket, timeout=300)
    took["import"] = time.monotonic() - start
    start = time.monotonic()
    try:
        relay.start(cluster)  # the operator's and the instance managers' way to the API server
    except RuntimeError as err:
        raise CnpgError(str(err)) from err
    docs = manifests(str(cluster.bin / "kubectl"), go, operator_image, postgres_image)
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
    # Server-side: the Cluster CRD is larger than client-side apply's last-applied annotation allows.
    _ok(cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=body, timeout=120), "apply")
    rollout = ("rollout", "status", "-n", NAMESPACE, f"deployment/{DEPLOYMENT}", f"--timeout={int(timeout)}s")
    _ok(cluster.kubectl(*rollout, timeout=timeout + 30), f"the operator's rollout (kubectl logs -n {NAMESPACE})")
    took["available"] = time.monotonic() - start
    poll("the CNPG webhooks to answer the API server", lambda: webhook_answers(cluster), timeout, CnpgError, 2)
    took["webhooks answering"] = time.monotonic() - start
    return took


def uninstall(cluster: Cluster) -> None:
    """Delete what ``install`` applied (the CRDs with their objects, the webhooks, RBAC, the namespace)."""
    go = os.environ.get("GO") or shutil.which("go") or "/usr/local/go/bin/go"
    docs = manifests(str(cluster.bin / "kubectl"), go, "unused", "unused")
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
    delete = ("delete", "--ignore-not-found", "--wait", "--timeout=180s", "-f", "-")
    _ok(cluster.kubectl(*delete, stdin=body, timeout=240), "delete of the operator's manifests")
    relay.stop(cluster)
