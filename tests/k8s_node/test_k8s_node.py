"""A pod really runs: on the node of `make cluster` (kubelet + containerd + runc + CNI bridge + kube-proxy), in a
namespace that enforces Pod Security `restricted`, with no registry (the image is imported, ``imagePullPolicy:
Never``). What each test shows is in its docstring; docs/kubernetes.md ("A real node") lists what is not shown.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator

import pytest

from tests.k8s_node.conftest import kubectl_json, ok
from tests.waiting import wait_for
from tools.cluster import image
from tools.cluster.config import CLUSTER_DOMAIN, NODE_IP, NODE_NAME, POD_CIDR
from tools.cluster.node import Cluster

pytestmark = pytest.mark.k8s_node

PORT = 8080
RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": image.NOBODY,
    "runAsGroup": image.NOBODY,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def probe_pod(name: str) -> dict:
    """The probe image serving HTTP, with everything `restricted` asks of a pod and a readiness probe on the port."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "automountServiceAccountToken": False,
            "securityContext": RESTRICTED,
            "containers": [
                {
                    "name": "probe",
                    "image": image.IMAGE,
                    "imagePullPolicy": "Never",
                    "args": ["serve", f":{PORT}"],
                    "ports": [{"containerPort": PORT}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": PORT}, "periodSeconds": 1},
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def namespace(cluster: Cluster) -> Iterator[str]:
    name = f"brook-node-{secrets.token_hex(3)}"
    ok(cluster.kubectl("create", "namespace", name))
    ok(cluster.kubectl("label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted"))
    yield name
    ok(cluster.kubectl("delete", "namespace", name, "--wait", "--timeout", "120s", timeout=150))


@pytest.fixture(scope="module")
def probe(cluster: Cluster, namespace: str) -> dict:
    """The probe pod, applied and Ready (kubelet's readiness probe got HTTP 200 from it)."""
    ok(cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(probe_pod("probe"))))
    wait = ("wait", "-n", namespace, "pod/probe", "--for", "condition=Ready", "--timeout", "120s")
    ok(cluster.kubectl(*wait, timeout=150))
    return kubectl_json(cluster, "-n", namespace, "pod", "probe")


def test_node_registered_and_ready(cluster: Cluster) -> None:
    """kubelet v1.37.2 registered the node over its client certificate (Node authorizer), on containerd 1.6, with
    the bridge's address as its only InternalIP, and the imported image in its image list."""
    node = kubectl_json(cluster, "node", NODE_NAME)
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert ready["Ready"] == "True", node["status"]["conditions"]
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"] == "v1.37.2"
    assert info["containerRuntimeVersion"].startswith("containerd://1.6."), info
    assert {a["type"]: a["address"] for a in node["status"]["addresses"]}["InternalIP"] == NODE_IP
    names = {name for entry in node["status"]["images"] for name in entry["names"]}
    assert image.IMAGE in names, names


def test_restricted_pod_runs(probe: dict) -> None:
    """The scheduler bound the pod to the node, kubelet started it from the imported image (never pulled), the CNI
    bridge gave it an address in the pod network, and it runs as the non-root user `restricted` requires."""
    assert probe["spec"]["nodeName"] == NODE_NAME
    assert ipaddress.ip_address(probe["status"]["podIP"]) in ipaddress.ip_network(POD_CIDR)
    (status,) = probe["status"]["containerStatuses"]
    assert status["ready"] is True and "running" in status["state"], status
    assert status["image"] == image.IMAGE, status


def test_logs_and_exec(cluster: Cluster, namespace: str, probe: dict) -> None:
    """`kubectl logs` and `kubectl exec` reach the container through the API server → kubelet → containerd's stream
    server: the log line the probe printed at start, and commands run inside the pod as uid 65534."""
    logs = ok(cluster.kubectl("logs", "-n", namespace, "probe"))
    assert logs.strip() == f"brook-probe serving on :{PORT} as uid {image.NOBODY}"
    word = secrets.token_hex(4)
    assert ok(cluster.kubectl("exec", "-n", namespace, "probe", "--", image.ENTRYPOINT, "echo", word)) == f"{word}\n"
    ident = ok(cluster.kubectl("exec", "-n", namespace, "probe", "--", image.ENTRYPOINT, "id"))
    assert ident == f"uid={image.NOBODY} gid={image.NOBODY}\n"


def test_pod_ip_answers_from_host(probe: dict) -> None:
    """The host reaches the pod's own address over the bridge: the answer names the pod (its hostname)."""
    with urllib.request.urlopen(f"http://{probe['status']['podIP']}:{PORT}/", timeout=10) as response:
        assert response.read().decode() == "brook-probe probe\n"


def expose(cluster: Cluster, namespace: str, name: str) -> str:
    """A ClusterIP Service ``name`` on port 80 in front of the probe pod; its cluster IP."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": "probe"}, "ports": [{"port": 80, "targetPort": PORT}]},
    }
    ok(cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(service)))
    return kubectl_json(cluster, "-n", namespace, "service", name)["spec"]["clusterIP"]


def test_service_cluster_ip_answers_from_host(cluster: Cluster, namespace: str, probe: dict) -> None:
    """kube-proxy (iptables mode) programs a ClusterIP Service: the host's request to the Service address reaches
    the pod behind it."""
    cluster_ip = expose(cluster, namespace, "probe")

    def answer() -> str:
        try:
            with urllib.request.urlopen(f"http://{cluster_ip}/", timeout=5) as response:
                return response.read().decode()
        except OSError:
            return ""

    assert wait_for(f"Service probe ({cluster_ip}) answering", answer, timeout=60) == "brook-probe probe\n"


def test_cluster_dns(cluster: Cluster, namespace: str, probe: dict) -> None:
    """kubelet gives pods the cluster DNS (CoreDNS on the bridge address) and its search path: inside the pod the
    Service's short name and its full name resolve to its ClusterIP, the API server's Service to its own, and an
    HTTP GET of the short name reaches the pod behind the Service; a name outside the cluster domain is not answered
    (nothing is forwarded off this machine)."""
    cluster_ip = expose(cluster, namespace, "dns-probe")
    api_ip = kubectl_json(cluster, "-n", "default", "service", "kubernetes")["spec"]["clusterIP"]

    def resolve(name: str) -> subprocess.CompletedProcess[str]:
        return cluster.kubectl("exec", "-n", namespace, "probe", "--", image.ENTRYPOINT, "resolve", name)

    def answer(name: str) -> str:
        proc = resolve(name)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    assert wait_for("the Service's name resolving", lambda: answer("dns-probe"), timeout=30) == cluster_ip
    assert answer(f"dns-probe.{namespace}.svc.{CLUSTER_DOMAIN}") == cluster_ip
    assert answer(f"kubernetes.default.svc.{CLUSTER_DOMAIN}") == api_ip
    # ...and the pod reaches the Service by that name (its route to the Service range, kube-proxy's translation).
    fetched = cluster.kubectl("exec", "-n", namespace, "probe", "--", image.ENTRYPOINT, "get", "http://dns-probe/")
    assert ok(fetched) == "brook-probe probe\n"
    outside = resolve("example.com")
    assert outside.returncode != 0, outside.stdout


def test_restricted_refuses_a_root_pod(cluster: Cluster, namespace: str) -> None:
    """The negative control: the same image as root, without the security context, is refused by Pod Security."""
    pod = probe_pod("as-root")
    pod["spec"]["securityContext"] = {"runAsUser": 0}
    del pod["spec"]["containers"][0]["securityContext"]
    refused = cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(pod))
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in refused.stderr, refused.stderr
    assert "runAsNonRoot" in refused.stderr and "allowPrivilegeEscalation" in refused.stderr, refused.stderr


BASE_IMAGE = "localhost/brook/python-base:3.11-bookworm"  # `make base-image` commits it with buildah


def local_buildah_image(name: str) -> bool:
    if not shutil.which("buildah"):
        return False
    return (
        subprocess.run(["buildah", "inspect", "--type", "image", name], capture_output=True, check=False).returncode
        == 0
    )


def test_debootstrap_image_runs(cluster: Cluster, namespace: str, tmp_path) -> None:
    """The debootstrap-made Python base image (Debian bookworm minbase + python3.11, built with buildah, no
    registry) runs under `restricted` on this node: its python3.11 reports the interpreter and the non-root uid."""
    if not local_buildah_image(BASE_IMAGE):
        pytest.skip(f"{BASE_IMAGE} is not in buildah's storage: `make base-image` builds it")
    archive = image.export_buildah_image(BASE_IMAGE, tmp_path / "base.oci.tar")
    image.import_image(archive, cluster.layout.socket)
    pod = probe_pod("python")
    container = pod["spec"]["containers"][0]
    container.update(image=BASE_IMAGE, command=["python3.11", "-c", PYTHON_REPORT], args=[])
    del container["readinessProbe"], container["ports"]
    pod["spec"]["restartPolicy"] = "Never"
    ok(cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(pod)))
    done = ("wait", "-n", namespace, "pod/python", "--for", "jsonpath={.status.phase}=Succeeded", "--timeout", "120s")
    ok(cluster.kubectl(*done, timeout=150))
    report = json.loads(ok(cluster.kubectl("logs", "-n", namespace, "python")))
    assert report == {"python": "3.11", "uid": image.NOBODY, "os": "debian 12"}, report


PYTHON_REPORT = """
import json, os, platform, sys
release = dict(line.rstrip().split("=", 1) for line in open("/etc/os-release") if "=" in line)
print(json.dumps({"python": platform.python_version().rsplit(".", 1)[0], "uid": os.getuid(),
                  "os": release["ID"] + " " + release["VERSION_ID"].strip('"')}))
"""
