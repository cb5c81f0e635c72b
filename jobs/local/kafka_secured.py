"""A secured local Kafka broker that mirrors what the chart deploys: SCRAM-SHA-512 over TLS, ACLs enforced.

``python -m jobs.local.services up --secured`` (or ``BROOK_LOCAL_KAFKA_SECURED=true``) starts it instead of the
plaintext broker, as a separate instance (own port ``BROOK_LOCAL_KAFKA_SECURED_PORT``, own data folder
``$BROOK_HOME/data/kafka-secured``), so a plaintext broker other tests use keeps running. It has:

- a ``SASL_SSL`` listener with SCRAM-SHA-512, its certificate signed by a local CA Brook generates with openssl
  (``tls/ca.crt`` is what clients trust: ``BROOK_KAFKA_CA_FILE``); keystore and truststore are PEM files;
- the KRaft ``StandardAuthorizer`` with ``allow.everyone.if.no.acl.found=false``: what no ACL allows is denied;
- one super user, ``brook-admin``, for administration only (users, ACLs, topics); its SCRAM credential is written
  into the metadata at ``kafka-storage format --add-scram`` time, so the broker can authenticate it (the
  inter-broker listener is this same SASL_SSL listener) before any metadata exists;
- a controller listener on mutual TLS: the broker's certificate (``CN=brook-kafka``) is its identity, a super user;
- the chart's KafkaUsers with their ACLs (``jobs.local.kafka_acls``: rendered from the chart, the one source), each
  with a generated password kept in ``users.json`` next to the data. Every start re-syncs users and ACLs to the
  chart, deleting bindings the chart no longer has.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import uuid
from base64 import urlsafe_b64encode
from pathlib import Path

from jobs.local import kafka_acls
from jobs.local.services import Kafka, LocalSettings, Paths, ServiceError, _log_tail, _port_open, _spawn, _wait

ADMIN = "brook-admin"
BROKER_CN = "brook-kafka"
MECHANISM = "SCRAM-SHA-512"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
CERT_DAYS = "825"


def _openssl(args: list[str], log: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(["openssl", *args], stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise ServiceError(f"openssl {args[0]} failed.\n{_log_tail(log)}")


class LocalCA:
    """A CA and the broker's certificate (server and client auth, SAN 127.0.0.1/localhost), generated once."""

    def __init__(self, folder: Path) -> None:
        self.dir = folder
        self.ca_cert, self.ca_key = folder / "ca.crt", folder / "ca.key"
        self.broker_key, self.broker_cert = folder / "broker.key", folder / "broker.crt"
        self.keystore = folder / "broker.pem"  # private key + certificate chain: Kafka's PEM keystore

    def ensure(self, log: Path) -> None:
        """Create what is missing; an existing CA is kept, so clients' trust survives restarts."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if not self.ca_cert.exists():
            self._make_ca(log)
        if not self.keystore.exists():
            self._make_broker(log)
        for secret in (self.ca_key, self.broker_key, self.keystore):
            secret.chmod(0o600)

    def _make_ca(self, log: Path) -> None:
        _openssl(
            [
                *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", CERT_DAYS, "-subj", "/CN=Brook local CA"),
                *("-keyout", str(self.ca_key), "-out", str(self.ca_cert)),
                *("-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"),
            ],
            log,
        )

    def _make_broker(self, log: Path) -> None:
        csr, ext = self.dir / "broker.csr", self.dir / "broker.ext"
        ext.write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
        )
        _openssl(
            [
                *("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={BROKER_CN}"),
                *("-keyout", str(self.broker_key), "-out", str(csr)),
            ],
            log,
        )
        _openssl(
            [
                *("x509", "-req", "-in", str(csr), "-CA", str(self.ca_cert), "-CAkey", str(self.ca_key)),
                *("-CAcreateserial", "-out", str(self.broker_cert), "-days", CERT_DAYS, "-extfile", str(ext)),
            ],
            log,
        )
        self.keystore.write_text(self.broker_key.read_text() + self.broker_cert.read_text())
        csr.unlink()


class Users:
    """Generated SCRAM passwords of the admin and every chart user, kept with the broker's data (0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.passwords: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}

    def password(self, user: str) -> str:
        """The user's password, generated (and saved) the first time it is asked for."""
        if user not in self.passwords:
            self.passwords[user] = secrets.token_urlsafe(24)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.passwords, indent=2, sort_keys=True))
            self.path.chmod(0o600)
        return self.passwords[user]


class SecuredKafka(Kafka):
    """The KRaft broker+controller of :class:`Kafka`, with SASL_SSL/SCRAM, TLS and the StandardAuthorizer."""

    name = "kafka-secured"  # log and pid file names; LocalServices still selects it as "kafka"

    def __init__(self, paths: Paths, cfg: LocalSettings) -> None:
        super().__init__(paths, cfg)
        self.port, self.user = cfg.kafka_secured_port, cfg.kafka_user
        self.dir = paths.data / "kafka-secured"
        self.config = self.dir / "server.properties"
        self.ca = LocalCA(self.dir / "tls")
        self.users = Users(self.dir / "users.json")
        self.helm = paths.home / "bin" / "helm"

    def connection_env(self) -> dict[str, str]:
        """How any client reaches this broker (no user: each workload brings its own)."""
        return {
            "BROOK_KAFKA_BOOTSTRAP": f"127.0.0.1:{self.port}",
            "BROOK_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "BROOK_KAFKA_SASL_MECHANISM": MECHANISM,
            "BROOK_KAFKA_CA_FILE": str(self.ca.ca_cert),
        }

    def user_env(self, user: str) -> dict[str, str]:
        """The connection plus one chart user's credentials (the admin is refused: it is not a workload)."""
        if user == ADMIN:
            raise ServiceError(f"{ADMIN} is the super user for administration; run workloads as their chart user")
        if user not in self.users.passwords:
            known = ", ".join(sorted(u for u in self.users.passwords if u != ADMIN)) or "none yet: run `up` first"
            raise ServiceError(f"no local Kafka user {user!r} (the chart's KafkaUsers: {known})")
        return {
            **self.connection_env(),
            "BROOK_KAFKA_USERNAME": user,
            "BROOK_KAFKA_PASSWORD": self.users.passwords[user],
        }

    def env(self, creds: dict[str, str]) -> dict[str, str]:
        return self.user_env(self.user) if self.user else self.connection_env()

    def admin_options(self) -> dict[str, object]:
        """kafka-python connection options of the super user (administration only)."""
        return {
            "bootstrap_servers": f"127.0.0.1:{self.port}",
            "security_protocol": "SASL_SSL",
            "ssl_cafile": str(self.ca.ca_cert),
            "sasl_mechanism": MECHANISM,
            "sasl_plain_username": ADMIN,
            "sasl_plain_password": self.users.password(ADMIN),
        }

    def admin(self):
        from kafka import KafkaAdminClient

        return KafkaAdminClient(client_id="brook-local-admin", request_timeout_ms=10000, **self.admin_options())

    def healthy(self) -> bool:
        if not _port_open(self.port) or not self.ca.ca_cert.exists():
            return False
        admin = self.admin()
        try:
            admin.list_topics()
            return True
        finally:
            admin.close()

    def _write_config(self) -> None:
        super()._write_config()  # the plaintext broker's settings and log4j file, then the secured overrides
        ctrl = self.port + 1
        jaas = f'{SCRAM_MODULE} required username="{ADMIN}" password="{self.users.password(ADMIN)}";'
        overrides = {
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{ctrl}",
            "listeners": f"SASL_SSL://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{ctrl}",
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{self.port}",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
            "inter.broker.listener.name": "SASL_SSL",
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config": jaas,
            "listener.name.controller.ssl.client.auth": "required",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.ca.keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca.ca_cert),
            "ssl.endpoint.identification.algorithm": "https",
            "authorizer.class.name": AUTHORIZER,
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{ADMIN};User:CN={BROKER_CN}",
            "auto.create.topics.enable": "false",  # as in the chart: topics are created by their owner, not by use
            "log.dirs": str(self.dir / "logs"),
        }
        lines = [line for line in self.config.read_text().splitlines() if line.split("=", 1)[0] not in overrides]
        self.config.write_text("\n".join(lines + [f"{k}={v}" for k, v in overrides.items()]) + "\n")
        self.config.chmod(0o600)  # it holds the admin's password

    def _format(self, log: Path) -> None:
        """KRaft storage format with the admin's SCRAM credential (the broker authenticates it before any ACL)."""
        cluster_id = urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        scram = f"{MECHANISM}=[name={ADMIN},password={self.users.password(ADMIN)}]"
        fmt = [*self._java(), "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self.config)]
        fmt += ["--standalone", "--add-scram", scram]
        with log.open("ab") as out:
            if subprocess.run(fmt, stdout=out, stderr=subprocess.STDOUT, check=False).returncode != 0:
                raise ServiceError(f"Kafka storage format (secured) failed.\n{_log_tail(log)}")

    def start(self, creds: dict[str, str], timeout: float) -> None:
        log = self.paths.log(self.name)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca.ensure(log)
        self._write_config()
        if not (self.dir / "logs" / "meta.properties").exists():
            self._format(log)
        proc = _spawn([*self._java(), "kafka.Kafka", str(self.config)], log, self.paths.pidfile(self.name))
        _wait(self.healthy, timeout, f"secured Kafka on 127.0.0.1:{self.port}", log, proc)
        self.sync_chart_users()

    def reconcile(self) -> None:
        """An `up` on a running broker still brings its users and ACLs to the chart's current render."""
        self.sync_chart_users()

    def sync_chart_users(self) -> dict[str, list[dict]]:
        """Create every chart KafkaUser's SCRAM credential and make the broker's ACLs exactly the chart's."""
        from kafka.admin import ScramMechanism, UserScramCredentialUpsertion

        users = kafka_acls.rendered_kafka_users(self.helm)
        admin = self.admin()
        try:
            upserts = [
                UserScramCredentialUpsertion(user, ScramMechanism.SCRAM_SHA_512, self.users.password(user))
                for user in sorted(users)
            ]
            failed = {user: err for user, err in admin.alter_user_scram_credentials(upserts).items() if err}
            if failed:
                raise ServiceError(f"creating SCRAM users failed: {failed}")
            created, deleted = kafka_acls.sync(admin, kafka_acls.chart_bindings(users))
        finally:
            admin.close()
        print(f"[services] kafka-secured: {len(users)} chart users, ACLs +{created} -{deleted}", flush=True)
        return users
