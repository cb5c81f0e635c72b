"""Brings the node of `make cluster` up and down: preflight checks, the processes (the control plane of
tools/cluster/control_plane.py, containerd, kubelet, kube-proxy), their state file and the teardown. What each
setting is and why: tools/cluster/config.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tools.cluster import host, image, services
from tools.cluster.config import (
    BRIDGE,
    CGROUP_ROOT,
    CGROUP_V1,
    CNI_NETWORK,
    NODE_IP,
    NODE_NAME,
    PACKAGES,
    POD_CIDR,
    REQUIRED_CGROUPS,
    Layout,
    cni_config,
    containerd_config,
    corefile,
    kube_proxy_config,
    kubelet_config,
    node_certs,
)  # fmt: skip
from tools.cluster.control_plane import ControlPlane, free_port, write_kubeconfig

NODE_BINS = ("kubelet", "kube-proxy")
DNS_BIN = "coredns"
CONTROL_BINS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")


class ClusterError(RuntimeError):
    """A precondition or a step failed; the message names the cause and the fix."""


# --- preflight ------------------------------------------------------------------------------------------------------
def preflight(bin_dir: Path) -> None:
    """Fail early, naming what is missing and how to get it."""
    if os.geteuid() != 0:
        raise ClusterError("not root: containerd, runc, cgroups and network namespaces need root (run as root)")
    for controller in REQUIRED_CGROUPS:
        if not (CGROUP_V1 / controller / "cgroup.procs").exists():
            raise ClusterError(
                f"cgroup v1 {controller} controller missing ({CGROUP_V1 / controller}): this node is configured for "
                "cgroup v1 with the cgroupfs driver, as measured on this machine"
            )
    for package, path in PACKAGES.items():
        if not Path(path).exists():
            raise ClusterError(f"{path} missing: run `make cluster-packages` (apt package {package})")
    missing = [name for name in NODE_BINS if not (bin_dir / name).exists()]
    if missing:
        raise ClusterError(f"{', '.join(missing)} missing in {bin_dir}: run `make cluster-bin`")
    missing = [name for name in CONTROL_BINS if not (bin_dir / name).exists()]
    if missing:
        raise ClusterError(f"{', '.join(missing)} missing in {bin_dir}: run `make k8s-api-bin`")
    if not (bin_dir / DNS_BIN).exists():
        raise ClusterError(f"{DNS_BIN} missing in {bin_dir}: run `make cluster-dns-bin` (the cluster DNS)")
    if _link_exists(BRIDGE):
        raise ClusterError(
            f"a network interface {BRIDGE} exists and no cluster state records it: remove it (`ip link del {BRIDGE}`) "
            "if a crashed run left it, or free the name"
        )
    routes = _run(["ip", "-4", "route", "show", "to", "match", NODE_IP]).stdout
    if any(not line.startswith("default") for line in routes.splitlines() if line.strip()):
        raise ClusterError(f"the pod network {POD_CIDR} overlaps a route on this machine:\n{routes}")


def _run(args: list[str], check: bool = False, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise ClusterError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def _link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


# --- processes ------------------------------------------------------------------------------------------------------
def _alive(pid: int, exe: str) -> bool:
    """``pid`` runs ``exe`` (not a recycled pid, not a zombie; a binary replaced since it started counts)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        return os.readlink(f"/proc/{pid}/exe") in (exe, f"{exe} (deleted)") and "\nState:\tZ" not in status
    except OSError:
        return False


def stop_pid(name: str, pid: int, exe: str, timeout: float = 30) -> None:
    if not _alive(pid, exe):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid, exe):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
            break
        time.sleep(0.2)


@dataclass
class Cluster:
    """The cluster of one $BROOK_HOME: ``up`` starts it, ``down`` removes it, ``state.json`` records its processes."""

    layout: Layout
    bin: Path
    go: str = "go"

    def say(self, msg: str, since: float | None = None) -> None:
        took = f" ({time.monotonic() - since:.1f}s)" if since is not None else ""
        print(f"cluster: {msg}{took}", flush=True)

    # state -------------------------------------------------------------------------------------------------------
    def load_state(self) -> dict:
        return json.loads(self.layout.state.read_text()) if self.layout.state.exists() else {}

    def save_state(self, state: dict) -> None:
        self.layout.state.write_text(json.dumps(state, indent=2) + "\n")

    def running(self) -> dict[str, bool]:
        state = self.load_state()
        return {name: _alive(proc["pid"], proc["exe"]) for name, proc in state.get("procs", {}).items()}

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """kubectl as the cluster's admin (system:masters)."""
        return subprocess.run(
            [str(self.bin / "kubectl"), "--kubeconfig", str(self.layout.admin_kubeconfig), *args],
            input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def _record(self, state: dict, name: str, proc: subprocess.Popen, exe: str) -> None:
        # /proc/<pid>/exe names the resolved file: record that (a symlinked $BROOK_HOME/bin would never match).
        state.setdefault("procs", {})[name] = {"pid": proc.pid, "exe": os.path.realpath(exe)}
        self.save_state(state)

    def _start(self, state: dict, name: str, exe: str, *args: str) -> subprocess.Popen:
        with (self.layout.logs / f"{name}.log").open("w") as log:
            proc = subprocess.Popen(
                [exe, *args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.layout.base,
            )  # fmt: skip
        self._record(state, name, proc, exe)
        return proc

    def _wait(self, state: dict, what: str, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in state.get("procs", {}).items():
                if not _alive(proc["pid"], proc["exe"]):
                    tail = (self.layout.logs / f"{name}.log").read_text()[-3000:]
                    raise ClusterError(f"{name} exited while waiting for {what}; its log ends:\n{tail}")
            if check():
                return
            time.sleep(0.5)
        raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what} (logs: {self.layout.logs})")

    # up ----------------------------------------------------------------------------------------------------------
    def up(self) -> None:
        start = time.monotonic()
        if self.layout.state.exists():
            running = self.running()
            if running and all(running.values()):
                self.say("already up (make cluster-down to remove it)")
                return
            self.say("a previous run left state behind: removing it first")
            self.down()
        preflight(self.bin)
        self.layout.base.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.layout.logs, ignore_errors=True)
        self.layout.logs.mkdir()
        state: dict = {"host": host.snapshot()}
        self.save_state(state)

        step = time.monotonic()
        probe = image.build_probe(self.go, self.layout.image / "brook-probe")
        archive = image.write_oci_archive(probe, self.layout.image / "node-probe.oci.tar")
        self.say(f"image {image.IMAGE} written to {archive}", step)

        step = time.monotonic()
        self._cgroups_create(state)
        self._bridge_create(state)
        self.say(f"cgroups /{CGROUP_ROOT} and bridge {BRIDGE} ({NODE_IP}, pods {POD_CIDR})", step)

        step = time.monotonic()
        plane = ControlPlane(
            bin=self.bin, home=self.layout.plane, logs=self.layout.logs, extra_certs=node_certs(),
            authorization_modes="Node,RBAC",
        )  # fmt: skip
        pki = plane.pki
        plane.apiserver_args = [
            "--enable-admission-plugins", "NodeRestriction",
            "--kubelet-client-certificate", str(pki / "apiserver-kubelet-client.crt"),
            "--kubelet-client-key", str(pki / "apiserver-kubelet-client.key"),
            "--kubelet-preferred-address-types", "InternalIP",
        ]  # fmt: skip
        self.layout.plane.mkdir(parents=True, exist_ok=True)
        try:
            plane.start()
        except (RuntimeError, subprocess.SubprocessError) as err:
            raise ClusterError(f"control plane: {err}") from err
        finally:
            for name, proc in plane.procs.items():
                self._record(state, name, proc, str(self.bin / name))
        state["server"] = plane.server
        self.save_state(state)
        self.say(f"control plane at {plane.server}", step)

        step = time.monotonic()
        self._containerd(state)
        took = image.import_image(archive, self.layout.socket)
        self.say(f"containerd up, image imported in {took:.1f}s", step)

        step = time.monotonic()
        self._kubelet(state, plane)
        self._kube_proxy(state, plane)
        self._wait(state, f"node {NODE_NAME} Ready", self._node_ready, 180)
        self.say(f"kubelet and kube-proxy up, node {NODE_NAME} Ready", step)

        step = time.monotonic()
        self._coredns(state)
        self.say(f"cluster DNS (CoreDNS) on {NODE_IP}:53", step)
        self.say(f"up; KUBECONFIG={self.layout.admin_kubeconfig}", start)

    def _node_ready(self) -> bool:
        out = self.kubectl("get", "node", NODE_NAME, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}")
        return out.stdout.strip() == "True"

    def _cgroups_create(self, state: dict) -> None:
        made = []
        for hierarchy in sorted(p for p in CGROUP_V1.iterdir() if (p / "cgroup.procs").exists()):
            path = hierarchy / CGROUP_ROOT
            if not path.exists():
                path.mkdir()
                made.append(str(path))
                if hierarchy.name == "cpuset":  # a v1 cpuset child starts empty: give it the parent's cpus and mems
                    for key in ("cpuset.cpus", "cpuset.mems"):
                        (path / key).write_text((hierarchy / key).read_text())
        state["cgroups"] = made
        self.save_state(state)

    def _bridge_create(self, state: dict) -> None:
        _run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
        state["bridge"] = BRIDGE
        self.save_state(state)
        _run(["ip", "addr", "add", f"{NODE_IP}/{POD_CIDR.split('/')[1]}", "dev", BRIDGE], check=True)
        _run(["ip", "link", "set", BRIDGE, "up"], check=True)

    def _containerd(self, state: dict) -> None:
        for sub in ("root", "state", "runc", "opt"):
            (self.layout.containerd / sub).mkdir(parents=True, exist_ok=True)
        (self.layout.cni / "net.d").mkdir(parents=True, exist_ok=True)
        (self.layout.cni / "ipam").mkdir(parents=True, exist_ok=True)
        (self.layout.cni / "net.d" / "10-brook.conflist").write_text(json.dumps(cni_config(self.layout), indent=2))
        config = self.layout.containerd / "config.toml"
        config.write_text(containerd_config(self.layout))
        self._start(state, "containerd", PACKAGES["containerd"], "--config", str(config))

        def serving() -> bool:
            return (
                self.layout.socket.exists()
                and _run(["ctr", "--address", str(self.layout.socket), "version"], timeout=10).returncode == 0
            )

        self._wait(state, "containerd's socket", serving, 60)

    def _kubelet(self, state: dict, plane: ControlPlane) -> None:
        home = self.layout.kubelet
        for sub in ("root", "pod-logs", "volume-plugins", "pki"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        kubeconfig = home / "kubeconfig"
        write_kubeconfig(kubeconfig, plane.server, plane.pki, "kubelet")
        config = home / "config.yaml"
        config.write_text(json.dumps(kubelet_config(self.layout, plane.pki / "ca.crt", free_port()), indent=2))
        self._start(
            state, "kubelet", str(self.bin / "kubelet"),
            "--config", str(config), "--kubeconfig", str(kubeconfig), "--root-dir", str(home / "root"),
            "--cert-dir", str(home / "pki"), "--hostname-override", NODE_NAME, "--node-ip", NODE_IP,
        )  # fmt: skip

    def _kube_proxy(self, state: dict, plane: ControlPlane) -> None:
        self.layout.proxy.mkdir(parents=True, exist_ok=True)
        kubeconfig = self.layout.proxy / "kubeconfig"
        write_kubeconfig(kubeconfig, plane.server, plane.pki, "kube-proxy")
        config = self.layout.proxy / "config.yaml"
        config.write_text(json.dumps(kube_proxy_config(kubeconfig), indent=2))
        self._start(state, "kube-proxy", str(self.bin / "kube-proxy"), "--config", str(config))

    def _coredns(self, state: dict) -> None:
        """CoreDNS as a host process, reading Services and EndpointSlices with the admin kubeconfig (a process of
        this machine's root, like the control plane); Ready when its `ready` endpoint answers 200."""
        home = self.layout.base / "dns"
        home.mkdir(parents=True, exist_ok=True)
        ready = free_port()
        config = home / "Corefile"
        config.write_text(corefile(self.layout.admin_kubeconfig, ready))
        self._start(state, DNS_BIN, str(self.bin / DNS_BIN), "-conf", str(config))

        def synced() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ready}/ready", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        self._wait(state, "CoreDNS ready", synced, 60)

    # down --------------------------------------------------------------------------------------------------------
    def down(self) -> list[str]:
        """Stop and remove everything ``up`` made; returns what could not be removed (also printed)."""
        start = time.monotonic()
        state = self.load_state()
        procs = state.get("procs", {})
        left: list[str] = []
        if not state and not self.layout.base.exists():
            self.say("nothing to remove")
            return left
        if "kubelet" in procs and self.running().get("kube-apiserver"):
            step = time.monotonic()
            # Let kubelet stop the pods: CNI DEL releases each IP and veth, containerd removes each netns.
            self.kubectl("delete", "pods", "--all", "--all-namespaces", "--wait", "--timeout", "60s", timeout=90)
            self.say("pods deleted", step)
        if services.home().exists():  # `make k8s-e2e`'s services listen on the bridge address that goes away
            services.cluster_services().down(list(services.SERVICES))
        for name in (DNS_BIN, "kube-proxy", "kubelet"):
            if name in procs:
                stop_pid(name, procs[name]["pid"], procs[name]["exe"])
        if "kube-proxy" in procs:
            config = self.layout.proxy / "config.yaml"
            cleanup = _run([procs["kube-proxy"]["exe"], "--cleanup", "--config", str(config)], timeout=60)
            if cleanup.returncode != 0:
                left.append(f"kube-proxy --cleanup failed: {cleanup.stderr.strip()[-500:]}")
        if "containerd" in procs:
            self._containers_remove(procs["containerd"])
            stop_pid("containerd", procs["containerd"]["pid"], procs["containerd"]["exe"])
        self._shims_stop()
        for name in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
            if name in procs:
                stop_pid(name, procs[name]["pid"], procs[name]["exe"])
        left += self._mounts_remove()
        if state.get("bridge") and _link_exists(BRIDGE) and _run(["ip", "link", "del", BRIDGE]).returncode != 0:
            left.append(f"bridge {BRIDGE}")
        left += self._cgroups_remove(state.get("cgroups", []))
        left += _cni_cache_remove()
        if "host" in state:
            left += host.remove_new_chains(state["host"]["chains"])
            left += host.remove_new_dirs(state["host"]["dirs"])
            left += host.restore_sysctls(state["host"].get("sysctls", {}))
        for path in self.layout.base.iterdir() if self.layout.base.exists() else []:
            if path != self.layout.logs:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                if path.exists():
                    left.append(str(path))
        for line in left:
            self.say(f"NOT removed: {line}")
        self.say(f"down (logs kept in {self.layout.logs})", start)
        return left

    def _containers_remove(self, containerd: dict) -> None:
        """Kill what kubelet left (a pod it had no time to stop) so that containerd's shims exit."""
        if not _alive(containerd["pid"], containerd["exe"]):
            return
        ctr = ["ctr", "--address", str(self.layout.socket), "-n", "k8s.io"]
        tasks = _run([*ctr, "tasks", "ls", "-q"], timeout=30).stdout.split()
        for task in tasks:
            _run([*ctr, "tasks", "kill", "-s", "SIGKILL", task], timeout=30)
        for task in tasks:
            _run([*ctr, "tasks", "delete", "-f", task], timeout=30)
        for container in _run([*ctr, "containers", "ls", "-q"], timeout=30).stdout.split():
            _run([*ctr, "containers", "delete", container], timeout=30)

    def _shims_stop(self) -> None:
        """containerd-shim-runc-v2 processes serving this containerd (their command line names its socket)."""
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if (
                cmdline
                and cmdline[0].endswith(b"containerd-shim-runc-v2")
                and str(self.layout.socket).encode() in (b" ".join(cmdline))
            ):
                stop_pid("shim", int(proc.name), "/usr/bin/containerd-shim-runc-v2", timeout=10)

    def _mounts_remove(self) -> list[str]:
        base = str(self.layout.base.resolve())
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        ours = sorted((m for m in mounts if m == base or m.startswith(base + "/")), key=len, reverse=True)
        left = []
        for mount in ours:
            if _run(["umount", mount]).returncode != 0 and _run(["umount", "-l", mount]).returncode != 0:
                left.append(f"mount {mount}")
        return left

    def _cgroups_remove(self, made: list[str]) -> list[str]:
        left = []
        for top in made:
            root = Path(top)
            if not root.exists():
                continue
            for dirpath in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):
                    dirpath.rmdir()
            try:
                root.rmdir()
            except OSError as err:
                left.append(f"cgroup {root} ({err.strerror})")
        return left

    # status ------------------------------------------------------------------------------------------------------
    def status(self) -> dict:
        """Each process's pid, whether it runs and its resident memory (MiB), their sum, and the node's readiness."""
        state = self.load_state()
        running = self.running()
        report: dict = {"base": str(self.layout.base), "processes": {}}
        for name, proc in state.get("procs", {}).items():
            rss = _rss_mib(proc["pid"]) if running.get(name) else None
            report["processes"][name] = {"pid": proc["pid"], "running": running.get(name, False), "rss_mib": rss}
        report["total_rss_mib"] = round(sum(p["rss_mib"] or 0 for p in report["processes"].values()), 1)
        if running.get("kube-apiserver"):
            report["node_ready"] = self._node_ready()
            report["kubeconfig"] = str(self.layout.admin_kubeconfig)
        return report


def _cni_cache_remove() -> list[str]:
    """libcni's result cache (/var/lib/cni, not configurable in containerd 1.6): only this network's entries."""
    left = []
    results = Path("/var/lib/cni/results")
    for path in sorted(results.glob(f"{CNI_NETWORK}-*")) if results.exists() else []:
        sandbox = path.name.removeprefix(f"{CNI_NETWORK}-").rsplit("-", 1)[0]
        for entry in (path, results / f"cni-loopback-{sandbox}-lo"):
            try:
                entry.unlink(missing_ok=True)
            except OSError:
                left.append(str(entry))
    return left


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None
