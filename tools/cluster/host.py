"""What the node changes outside $BROOK_HOME and how ``down`` takes it back: iptables chains, sysctls, host
directories.

Why this is needed: kubelet adds its own chains (KUBE-FIREWALL, which drops packets to 127.0.0.0/8 from other
sources, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT) in the IPv4 and IPv6 tables and `kube-proxy --cleanup` does not
remove them; containerd 1.6 and libcni keep a few files at fixed paths (/run/containerd/s for shim sockets,
/var/lib/cni/results); the bridge plugin turns on IPv4 forwarding (isGateway). ``up`` records what existed before it
(``snapshot``); ``down`` removes only what is new and writes the recorded sysctls back.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

IPTABLES = ("iptables", "ip6tables")
TABLES = ("filter", "nat", "mangle")
BUILTIN = {"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"}
# Fixed paths containerd 1.6 and libcni write to; only what appears under them after ``up`` is removed.
# Sysctls the bridge plugin, kubelet or kube-proxy may set; ``down`` writes back the values ``up`` found.
SYSCTLS = (
    Path("/proc/sys/net/ipv4/ip_forward"),
    Path("/proc/sys/net/ipv6/conf/all/forwarding"),
    Path("/proc/sys/net/ipv4/conf/all/route_localnet"),
    Path("/proc/sys/net/bridge/bridge-nf-call-iptables"),
    Path("/proc/sys/net/bridge/bridge-nf-call-ip6tables"),
)
HOST_DIRS = (Path("/run/containerd/s"), Path("/run/containerd"), Path("/var/lib/cni/results"), Path("/var/lib/cni"))


def _save(tool: str, table: str) -> list[str]:
    proc = subprocess.run([f"{tool}-save", "-t", table], capture_output=True, text=True, timeout=30, check=False)
    return proc.stdout.splitlines() if proc.returncode == 0 else []


def kube_chains() -> dict[str, list[str]]:
    """``tool/table`` → the KUBE-* chains in it now."""
    chains: dict[str, list[str]] = {}
    for tool in IPTABLES:
        for table in TABLES:
            chains[f"{tool}/{table}"] = sorted(
                line[1:].split()[0] for line in _save(tool, table) if line.startswith(":KUBE-")
            )
    return chains


def snapshot() -> dict:
    """What exists before ``up``: the KUBE-* chains, the SYSCTLS' values and which of HOST_DIRS are there."""
    return {
        "chains": kube_chains(),
        "sysctls": {str(path): path.read_text().strip() for path in SYSCTLS if path.exists()},
        "dirs": {str(path): path.exists() for path in HOST_DIRS},
    }


def restore_sysctls(before: dict[str, str]) -> list[str]:
    """Write back each recorded sysctl that changed; returns ``path: was → is`` for those that could not be."""
    left = []
    for name, value in before.items():
        path = Path(name)
        try:
            if path.read_text().strip() != value:
                path.write_text(value + "\n")
        except OSError as err:
            left.append(f"{path}: {value} → {path.read_text().strip()} ({err.strerror})")
    return left


def remove_new_chains(before: dict[str, list[str]]) -> list[str]:
    """Delete every KUBE-* chain that was not there before ``up`` (and the rules jumping to it); returns failures."""
    left = []
    for key, chains in kube_chains().items():
        tool, table = key.split("/")
        new = [chain for chain in chains if chain not in before.get(key, [])]
        if not new:
            continue
        for line in _save(tool, table):  # rules in any chain that jump to a new chain, e.g. `-A INPUT -j KUBE-FIREWALL`
            parts = shlex.split(line)
            if parts[:1] == ["-A"] and "-j" in parts and parts[parts.index("-j") + 1] in new and parts[1] not in new:
                _ipt(tool, table, "-D", *parts[1:])
        for chain in new:
            _ipt(tool, table, "-F", chain)
        for chain in new:
            if _ipt(tool, table, "-X", chain) != 0:
                left.append(f"{tool} -t {table} chain {chain}")
    return left


def _ipt(tool: str, table: str, *args: str) -> int:
    return subprocess.run([tool, "-w", "-t", table, *args], capture_output=True, timeout=30, check=False).returncode


def remove_new_dirs(existed: dict[str, bool]) -> list[str]:
    """rmdir each of HOST_DIRS that ``up`` created, if empty (a non-empty one is reported, not emptied)."""
    left = []
    for path in HOST_DIRS:
        if existed.get(str(path), True) or not path.exists():
            continue
        try:
            path.rmdir()
        except OSError as err:
            left.append(f"{path} ({err.strerror})")
    return left
