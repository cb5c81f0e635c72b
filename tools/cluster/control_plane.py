"""A Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager and kube-scheduler (built by
`make k8s-api-bin` from tools/k8s_api/go.mod), with kubectl and helm pointed at it. The k8s_api tests start one per
session (tests/k8s_api/conftest.py, below); `make cluster` (tools/cluster/node.py) starts one with a real node beside
it, passing the node's certificates and the Node authorizer through ``extra_certs`` and ``apiserver_args``.

What runs: etcd (plain HTTP on 127.0.0.1, no fsync: test data only), kube-apiserver (TLS with a CA made here,
client-certificate authentication, RBAC, the PodSecurity admission plugin and the default plugins, service-account
tokens signed with a key made here), kube-controller-manager (every default controller, each with its own
ServiceAccount credentials: Deployments → ReplicaSets → Pods, Jobs → Pods, the garbage collector, ...) and
kube-scheduler. What does not run: a kubelet, so there is no node: pods are admitted (or rejected) and then stay
Pending; no container ever starts, no Job completes, no operator reconciles its custom resources.

For the k8s_api tests everything lives under $BROOK_HOME/k8s-api/ (default .brook): certificates, keys, etcd's
data and the logs of each process (kept after the session in $BROOK_HOME/k8s-api/logs for a failed run). Every port
is on 127.0.0.1 and picked free at start, so two sessions on one machine do not collide.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from jobs.local.ports import Ports
from tools.versions import brook_home

ROOT = Path(__file__).resolve().parents[2]
GO_MOD = ROOT / "tools" / "k8s_api" / "go.mod"
SERVICE_CIDR = "10.96.0.0/16"  # only allocated from (ClusterIPs): no proxy, no traffic
ISSUER = "https://kubernetes.default.svc.cluster.local"
LOOPBACK = "127.0.0.1"


def pinned(module: str) -> str:
    """The version tools/k8s_api/go.mod pins for ``module`` (what mk/k8s-api.mk builds and stamps)."""
    for line in GO_MOD.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == module and parts[1].startswith("v"):
            return parts[1]
    raise KeyError(f"{module} is not required in {GO_MOD}")


PORTS = Ports(22000)  # every loopback port of the control plane and node, below the ephemeral range


def free_port() -> int:
    return PORTS.take()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


Cert = tuple[str, str]  # (subject, openssl extensions)


def make_pki(pki: Path, extra: dict[str, Cert] | None = None) -> None:
    """A CA, the API server's serving certificate, client certificates (``extra`` adds more, signed by the same CA) and
    the service-account key pair (EC P-256)."""
    pki.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=brook-k8s-api-ca",
        cwd=pki,
    )
    certs: dict[str, Cert] = {
        # name: (subject, extensions)
        "apiserver": (
            "/CN=kube-apiserver",
            "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,"
            "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc",
        ),
        # O=system:masters: the test's own admin (kubectl, helm, impersonation for `auth can-i --as`).
        "admin": ("/O=system:masters/CN=brook-k8s-api-admin", "extendedKeyUsage=clientAuth"),
        # The identities Kubernetes' bootstrap RBAC gives the controller manager and the scheduler.
        "controller-manager": ("/CN=system:kube-controller-manager", "extendedKeyUsage=clientAuth"),
        "scheduler": ("/CN=system:kube-scheduler", "extendedKeyUsage=clientAuth"),
        **(extra or {}),
    }
    for name, (subject, ext) in certs.items():
        (pki / f"{name}.ext").write_text(f"basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n{ext}\n")
        _openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=pki)
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=pki,
        )  # fmt: skip
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key", cwd=pki)
    _openssl("ec", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def write_kubeconfig(path: Path, server: str, pki: Path, user: str) -> None:
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
  - name: brook-k8s-api
    cluster: {{server: "{server}", certificate-authority: "{pki / "ca.crt"}"}}
users:
  - name: {user}
    user: {{client-certificate: "{pki / f"{user}.crt"}", client-key: "{pki / f"{user}.key"}"}}
contexts:
  - name: brook-k8s-api
    context: {{cluster: brook-k8s-api, user: {user}}}
current-context: brook-k8s-api
"""
    )


@dataclass
class ControlPlane:
    """A running control plane; ``kubectl``/``helm`` run against it as its admin (system:masters)."""

    bin: Path
    home: Path
    logs: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    server: str = ""
    # What a real node adds (tools/cluster/node.py): its client certificates, "Node,RBAC", the kubelet client flags.
    extra_certs: dict[str, Cert] = field(default_factory=dict)
    authorization_modes: str = "RBAC"
    apiserver_args: list[str] = field(default_factory=list)

    @property
    def pki(self) -> Path:
        return self.home / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.home / "admin.kubeconfig"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        # helm's own state (repositories, cache) under this run, not the user's ~/.config/helm.
        for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            env[var] = str(self.home / "helm" / var.lower())
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return env

    def run(
        self, tool: str, *args: str, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / tool), *args], input=stdin, capture_output=True, text=True,
            timeout=timeout, env=self.env, check=False,
        )  # fmt: skip

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.run("kubectl", *args, stdin=stdin, timeout=timeout)

    def helm(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.run("helm", *args, timeout=timeout)

    # --- lifecycle -----------------------------------------------------------------------------------------------
    def _start(self, name: str, *args: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("w")
        proc = subprocess.Popen(
            [str(self.bin / name), *args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=self.home,
        )  # fmt: skip
        log.close()
        self.procs[name] = proc
        return proc

    def _wait(self, what: str, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    tail = (self.logs / f"{name}.log").read_text()[-3000:]
                    raise RuntimeError(f"{name} exited with {proc.returncode} while waiting for {what}:\n{tail}")
            if check():
                return
            time.sleep(0.5)
        raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what} (logs: {self.logs})")

    def start(self) -> None:
        pki = self.pki
        make_pki(pki, self.extra_certs)
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        etcd_url = f"http://{LOOPBACK}:{etcd_port}"
        self._start(
            "etcd", "--name", "brook", "--data-dir", str(self.home / "etcd"),
            "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
            "--listen-peer-urls", f"http://{LOOPBACK}:{peer_port}",
            "--initial-advertise-peer-urls", f"http://{LOOPBACK}:{peer_port}",
            "--initial-cluster", f"brook=http://{LOOPBACK}:{peer_port}",
            "--unsafe-no-fsync", "--log-level", "warn",
        )  # fmt: skip

        def etcd_healthy() -> bool:
            try:
                with urllib.request.urlopen(f"{etcd_url}/health", timeout=5) as response:
                    return b'"health":"true"' in response.read()
            except OSError:
                return False

        self._wait("etcd", etcd_healthy, 60)

        self.server = f"https://{LOOPBACK}:{api_port}"
        self._start(
            "kube-apiserver",
            "--etcd-servers", etcd_url,
            "--bind-address", LOOPBACK, "--advertise-address", LOOPBACK, "--secure-port", str(api_port),
            "--tls-cert-file", str(pki / "apiserver.crt"), "--tls-private-key-file", str(pki / "apiserver.key"),
            "--client-ca-file", str(pki / "ca.crt"),
            "--authorization-mode", self.authorization_modes,
            # PodSecurity is among the defaults since 1.25; named so that the intent is visible in `ps`.
            "--enable-admission-plugins", "PodSecurity",
            "--service-account-issuer", ISSUER,
            "--service-account-key-file", str(pki / "sa.pub"),
            "--service-account-signing-key-file", str(pki / "sa.key"),
            "--service-cluster-ip-range", SERVICE_CIDR,
            # The `kubernetes` Service's endpoint may not be a loopback address: no reconciler (no pod reaches it).
            "--endpoint-reconciler-type", "none",
            "--allow-privileged=false", "--profiling=false",
            *self.apiserver_args,
        )  # fmt: skip
        write_kubeconfig(self.kubeconfig, self.server, pki, "admin")

        def api_ready() -> bool:
            return self.kubectl("get", "--raw", "/readyz", timeout=15).stdout.strip() == "ok"

        self._wait("kube-apiserver /readyz", api_ready, 180)

        for name, user in (("kube-controller-manager", "controller-manager"), ("kube-scheduler", "scheduler")):
            config = self.home / f"{user}.kubeconfig"
            write_kubeconfig(config, self.server, pki, user)
            common = [
                "--kubeconfig", str(config), "--authentication-kubeconfig", str(config),
                "--authorization-kubeconfig", str(config), "--leader-elect=false",
                "--bind-address", LOOPBACK, "--secure-port", str(free_port()),
            ]  # fmt: skip
            if name == "kube-controller-manager":
                common += [
                    "--use-service-account-credentials",
                    "--service-account-private-key-file", str(pki / "sa.key"),
                    "--root-ca-file", str(pki / "ca.crt"),
                    "--service-cluster-ip-range", SERVICE_CIDR,
                ]  # fmt: skip
            self._start(name, *common)

        # The ServiceAccount controller runs: pods naming `default` can be admitted.
        def controllers_up() -> bool:
            return self.kubectl("-n", "default", "get", "serviceaccount", "default", timeout=15).returncode == 0

        self._wait("kube-controller-manager (ServiceAccount default/default)", controllers_up, 120)

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.procs.clear()


def start_control_plane(bin_dir: Path) -> ControlPlane:
    base = brook_home() / "k8s-api"
    base.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    logs = base / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    plane = ControlPlane(bin=bin_dir, home=home, logs=logs)
    try:
        plane.start()
    except BaseException:
        plane.stop()
        raise
    return plane


def remove_run(plane: ControlPlane) -> None:
    """Delete the run's etcd data, keys and helm state; the logs stay in $BROOK_HOME/k8s-api/logs."""
    shutil.rmtree(plane.home, ignore_errors=True)
