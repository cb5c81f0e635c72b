"""The API server for pods on the node of `make cluster`: a TCP relay from the bridge address to the API server's
loopback port, and an EndpointSlice that makes it the `kubernetes` Service's endpoint.

Why: the control plane listens on 127.0.0.1 only and runs with `--endpoint-reconciler-type none`, so the
`kubernetes` Service (10.96.0.1:443) has no endpoint and no pod can reach the API server; none of Brook's own pods
needs it, but an operator does (CNPG's controller, and its instance manager in every Postgres pod, watch their
objects). With this slice kube-proxy forwards 10.96.0.1:443 to the relay on 10.217.0.1, which passes the bytes to
the API server unchanged: TLS is end to end, and the API server's certificate already names 10.96.0.1, the address
in-cluster clients dial. Authentication and authorization stay the API server's (service-account tokens, RBAC).
The relay is a process of ours (pid in $BROOK_HOME/cnpg/relay.json), stopped by ``stop`` (`make cnpg-uninstall`).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from tools.cluster.config import NODE_IP
from tools.cluster.node import Cluster
from tools.versions import brook_home

SLICE = "kubernetes-node-relay"  # in namespace default, labelled for Service kubernetes


def state_file() -> Path:
    return brook_home() / "cnpg" / "relay.json"


def _alive(pid: int) -> bool:
    try:
        return "tools.cnpg.relay" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _serve(listen: tuple[str, int], target: tuple[str, int]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(handle, *listen)
    async with server:
        await server.serve_forever()


def api_target(cluster: Cluster) -> tuple[str, int]:
    """The API server's address as the admin kubeconfig names it (127.0.0.1:<port>)."""
    config = yaml.safe_load(cluster.layout.admin_kubeconfig.read_text())
    url = urlsplit(config["clusters"][0]["cluster"]["server"])
    return url.hostname or "127.0.0.1", url.port or 443


def start(cluster: Cluster) -> int:
    """Start the relay (or keep the running one for the same API server) and point the `kubernetes` Service at it;
    returns the relay's port."""
    target = api_target(cluster)
    path = state_file()
    state = json.loads(path.read_text()) if path.exists() else {}
    if state and _alive(state["pid"]) and tuple(state["target"]) == target:
        port = state["port"]
    else:
        stop_process()
        with socket.socket() as probe:  # a free port on the bridge address
            probe.bind((NODE_IP, 0))
            port = probe.getsockname()[1]
        path.parent.mkdir(parents=True, exist_ok=True)
        with (path.parent / "relay.log").open("w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tools.cnpg.relay", f"{NODE_IP}:{port}", f"{target[0]}:{target[1]}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        path.write_text(json.dumps({"pid": proc.pid, "port": port, "target": list(target)}) + "\n")
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection((NODE_IP, port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the API relay did not start: see {path.parent / 'relay.log'}") from None
                time.sleep(0.2)
    endpoint = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": SLICE,
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": "kubernetes", "endpointslice.kubernetes.io/managed-by": "brook"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],  # the Service's port name
        "endpoints": [{"addresses": [NODE_IP]}],
    }
    proc = cluster.kubectl("apply", "-f", "-", stdin=json.dumps(endpoint))
    if proc.returncode != 0:
        raise RuntimeError(f"EndpointSlice {SLICE}: {proc.stderr}")
    return port


def stop_process() -> None:
    path = state_file()
    if not path.exists():
        return
    pid = json.loads(path.read_text())["pid"]
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
    path.unlink()


def stop(cluster: Cluster) -> None:
    """Remove the EndpointSlice and stop the relay."""
    cluster.kubectl("delete", "endpointslice", "-n", "default", SLICE, "--ignore-not-found")
    stop_process()


def main(argv: list[str]) -> int:
    """``python -m tools.cnpg.relay LISTEN_HOST:PORT TARGET_HOST:PORT`` (started by ``start``)."""
    (lhost, lport), (thost, tport) = (a.rsplit(":", 1) for a in argv)
    asyncio.run(_serve((lhost, int(lport)), (thost, int(tport))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
