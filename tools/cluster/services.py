"""Kafka, Postgres and MinIO for the pods of `make cluster`: local mode's services (jobs/local/services.py), a
second instance listening on the bridge address instead of loopback.

Why a second instance: a pod's 127.0.0.1 is its own, so the shared local services (loopback only, and used by
everyone's tests) are out of its reach; Kafka also advertises its listener address to clients, so a relay in front
of the loopback broker would hand pods an address they cannot dial. This one lives in $BROOK_HOME/cluster-services
(its own data, credentials, logs and pids; the Kafka jars and the MinIO binary are the shared ones, linked) and
listens on the bridge's address only, which exists while the cluster is up. Postgres also admits password logins
from the pod network.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from jobs.common.settings import load
from jobs.local.services import LocalServices, LocalSettings
from tools.cluster.config import NODE_IP, POD_CIDR
from tools.versions import brook_home

SERVICES = ("kafka", "postgres", "minio")  # all three; LocalServices.down stops them in reverse order
S3_PORT_OFFSET = 10  # see cluster_services
SHARED = ("jars", "bin")  # under $BROOK_HOME: what the second instance reuses rather than installs again


def home() -> Path:
    return brook_home() / "cluster-services"


def cluster_services() -> LocalServices:
    """The services on ``NODE_IP``, on local mode's ports (another address, so no clash), MinIO's excepted."""
    root = home()
    root.mkdir(parents=True, exist_ok=True)
    for name in SHARED:
        link = root / name
        if not link.is_symlink():
            link.symlink_to(brook_home().resolve() / name)
    local = load(LocalSettings)
    # MinIO binds the loopback addresses too (SO_REUSEPORT), whatever --address says: on local mode's port the
    # kernel shared 127.0.0.1:<port> between the two servers and local mode's clients met the other one's keys
    # (InvalidAccessKeyId). Its API and console ports therefore sit S3_PORT_OFFSET above local mode's.
    cfg = dataclasses.replace(
        local, home=str(root), address=NODE_IP, pg_clients=POD_CIDR, s3_port=local.s3_port + S3_PORT_OFFSET
    )
    return LocalServices(cfg)
