"""Typed settings read from ``BROOK_*`` environment variables.

Every job loads the groups it needs with :func:`load`; a missing or malformed variable fails at start
with a :class:`ConfigError` naming the variable and the fix, instead of a stack trace deep in a client.
Charts set these variables from Secrets/ConfigMaps; local mode sets them for loopback
(``jobs.local.services env``). The full list is documented in docs/configuration.md.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

PREFIX = "BROOK_"


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable and how to fix it."""


def setting(env: str, default: Any = dataclasses.MISSING, help: str = "", choices: tuple[str, ...] = ()) -> Any:
    """Declare a settings field bound to the environment variable ``BROOK_<env>``."""
    meta = {"env": PREFIX + env, "help": help, "choices": choices}
    if default is dataclasses.MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


def _parse(raw: str, kind: type, var: str, help_text: str) -> Any:
    if kind is str:
        return raw
    if kind is bool:
        low = raw.strip().lower()
        if low in {"1", "true", "yes", "on"}:
            return True
        if low in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{var}={raw!r} is not a boolean: use true or false. {help_text}".strip())
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise ConfigError(
                f"{var}={raw!r} is not a{'n integer' if kind is int else ' number'}. {help_text}".strip()
            ) from None
    raise TypeError(f"unsupported settings type {kind!r} for {var}")


T = TypeVar("T")


def load(cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Build settings dataclass ``cls`` from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    hints = {f.name: f.type for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        var, help_text, choices = f.metadata["env"], f.metadata["help"], f.metadata["choices"]
        kind = {"str": str, "int": int, "float": float, "bool": bool}.get(str(hints[f.name]), hints[f.name])
        raw = env.get(var)
        if raw is None or raw == "":
            if f.default is dataclasses.MISSING:
                raise ConfigError(f"{var} is not set. {help_text}".strip())
            continue
        value = _parse(raw, kind, var, help_text)
        if choices and value not in choices:
            raise ConfigError(f"{var}={raw!r} is not one of {', '.join(choices)}. {help_text}".strip())
        values[f.name] = value
    obj = cls(**values)
    validate = getattr(obj, "validate", None)
    if validate is not None:
        validate()
    return obj


def describe(cls: type) -> list[tuple[str, str, str]]:
    """(variable, default, help) rows for documentation and ``--help`` output."""
    rows = []
    for f in dataclasses.fields(cls):
        default = "(required)" if f.default is dataclasses.MISSING else repr(f.default)
        rows.append((f.metadata["env"], default, f.metadata["help"]))
    return rows


def to_env(*groups: object) -> dict[str, str]:
    """The ``BROOK_*`` variables that :func:`load` turns back into these settings (to configure a subprocess)."""
    env: dict[str, str] = {}
    for group in groups:
        for f in dataclasses.fields(group):  # type: ignore[arg-type]
            value = getattr(group, f.name)
            env[f.metadata["env"]] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


@dataclass(frozen=True, kw_only=True)
class KafkaSettings:
    bootstrap: str = setting("KAFKA_BOOTSTRAP", help="Kafka bootstrap servers, host:port[,host:port].")
    security_protocol: str = setting(
        "KAFKA_SECURITY_PROTOCOL",
        "PLAINTEXT",
        help="How clients talk to Kafka.",
        choices=("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"),
    )
    sasl_mechanism: str = setting(
        "KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", help="SASL mechanism (Strimzi KafkaUser: SCRAM-SHA-512)."
    )
    username: str = setting("KAFKA_USERNAME", "", help="SASL user (the KafkaUser name in Kubernetes).")
    password: str = setting("KAFKA_PASSWORD", "", help="SASL password (from the KafkaUser's Secret).")
    connect_timeout_ms: int = setting(
        "KAFKA_CONNECT_TIMEOUT_MS", 15000, help="How long a client waits for the first broker before failing."
    )
    ca_file: str = setting(
        "KAFKA_CA_FILE",
        "",
        help="PEM file of the CA that signed the brokers' certificates (SSL, SASL_SSL); empty: the system's trust "
        "store. Local secured mode: $BROOK_HOME/data/kafka-secured/tls/ca.crt; Strimzi: the cluster CA's ca.crt.",
    )

    def validate(self) -> None:
        if self.security_protocol.startswith("SASL") and not (self.username and self.password):
            raise ConfigError(
                "BROOK_KAFKA_USERNAME and BROOK_KAFKA_PASSWORD must be set when "
                f"BROOK_KAFKA_SECURITY_PROTOCOL={self.security_protocol}."
            )
        # A missing CA file would otherwise surface as an opaque TLS handshake failure on the first connection.
        if self.ca_file and not os.path.isfile(self.ca_file):
            raise ConfigError(f"BROOK_KAFKA_CA_FILE={self.ca_file!r} is not a readable file (PEM CA certificate).")

    def client_options(self) -> dict[str, Any]:
        """Connection keyword arguments shared by every kafka-python client."""
        opts: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap.split(","),
            "security_protocol": self.security_protocol,
            "bootstrap_timeout_ms": self.connect_timeout_ms,
        }
        if self.security_protocol.startswith("SASL"):
            opts.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.username,
                sasl_plain_password=self.password,
            )
        if self.security_protocol.endswith("SSL") and self.ca_file:
            opts["ssl_cafile"] = self.ca_file
        return opts

    def librdkafka_config(self) -> dict[str, Any]:
        """The same connection as :meth:`client_options`, in librdkafka's property names (confluent-kafka clients:
        the bets consumer). A CA file left empty means the system's trust store (``probe``), as for kafka-python."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": self.security_protocol,
            "socket.connection.setup.timeout.ms": self.connect_timeout_ms,
        }
        if self.security_protocol.startswith("SASL"):
            config.update(
                {"sasl.mechanism": self.sasl_mechanism, "sasl.username": self.username, "sasl.password": self.password}
            )
        if self.security_protocol.endswith("SSL"):
            config["ssl.ca.location"] = self.ca_file or "probe"
        return config


@dataclass(frozen=True, kw_only=True)
class PostgresSettings:
    host: str = setting("PG_HOST", help="Postgres host (CNPG: the <cluster>-rw Service).")
    port: int = setting("PG_PORT", 5432, help="Postgres port.")
    database: str = setting("PG_DATABASE", "brook", help="Database name.")
    user: str = setting("PG_USER", help="Postgres user (CNPG app secret key 'username').")
    password: str = setting("PG_PASSWORD", "", help="Postgres password (CNPG app secret key 'password').")
    sslmode: str = setting(
        "PG_SSLMODE",
        "prefer",
        help="libpq sslmode.",
        choices=("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    )
    schema: str = setting(
        "PG_SCHEMA", "public", help="Schema holding Brook's tables (tests and side-by-side runs use their own)."
    )

    def validate(self) -> None:
        if (
            not self.schema.replace("_", "").isalnum()
            or not self.schema[0].isalpha()
            or self.schema != self.schema.lower()
        ):
            raise ConfigError(
                f"BROOK_PG_SCHEMA={self.schema!r}: use a lower-case identifier such as public or brook_test."
            )

    def dsn(self) -> str:
        """libpq keyword DSN for psycopg2."""
        parts = {
            "host": self.host,
            "port": str(self.port),
            "dbname": self.database,
            "user": self.user,
            "password": self.password,
            "sslmode": self.sslmode,
            "options": "" if self.schema == "public" else f"-c search_path={self.schema}",
        }
        return " ".join(f"{k}='{v}'" for k, v in parts.items() if v)

    def jdbc_url(self) -> str:
        """JDBC URL for Flink's JDBC connector (credentials are passed separately)."""
        url = f"jdbc:postgresql://{self.host}:{self.port}/{self.database}"
        return url if self.schema == "public" else f"{url}?currentSchema={self.schema}"


@dataclass(frozen=True, kw_only=True)
class S3Settings:
    endpoint: str = setting("S3_ENDPOINT", help="S3 endpoint URL, e.g. http://minio:9000.")
    access_key: str = setting("S3_ACCESS_KEY", help="S3 access key (from the MinIO Secret).")
    secret_key: str = setting("S3_SECRET_KEY", help="S3 secret key (from the MinIO Secret).")
    region: str = setting("S3_REGION", "us-east-1", help="S3 region name (MinIO accepts any).")
    bucket: str = setting("S3_BUCKET", "bets", help="Bucket of exported bets.")

    def client(self) -> Any:
        """A boto3 S3 client with path-style addressing (MinIO)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
        )
