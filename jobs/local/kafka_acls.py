"""The chart's KafkaUsers and their ACLs, read from ``helm template`` output and turned into Kafka ACL bindings.

There is one table of users and ACLs: the ``pipelines.<name>.kafkaUsers``, ``kafka.users`` and ``ui.kafkaUi.acls``
blocks of ``charts/brook/values.yaml``, merged by ``templates/_topology.tpl``. Rather than re-implement that merge,
the secured local broker renders the chart and reads the ``KafkaUser`` resources it emits, so the local users and
ACLs are exactly what Strimzi's User Operator would create. Every pipeline and the Kafka UI are switched on for the
render, so every user the chart can deploy exists locally.

The translation follows Strimzi's ``simple`` authorization (``AclRule``): resource types topic, group, cluster and
transactionalId; ``patternType`` literal (default) or prefix, where a literal ``*`` means every resource; the
cluster resource is Kafka's literal ``kafka-cluster``; ``type`` allow (default) or deny; ``host`` default ``*``;
``operations`` (or the deprecated single ``operation``), ``All`` included; the principal is ``User:<name>``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "brook"

RESOURCE_TYPES = {"topic": "TOPIC", "group": "GROUP", "cluster": "CLUSTER", "transactionalId": "TRANSACTIONAL_ID"}
PATTERN_TYPES = {"literal": "LITERAL", "prefix": "PREFIXED"}
OPERATIONS = {
    "Read": "READ",
    "Write": "WRITE",
    "Create": "CREATE",
    "Delete": "DELETE",
    "Alter": "ALTER",
    "Describe": "DESCRIBE",
    "ClusterAction": "CLUSTER_ACTION",
    "DescribeConfigs": "DESCRIBE_CONFIGS",
    "AlterConfigs": "ALTER_CONFIGS",
    "IdempotentWrite": "IDEMPOTENT_WRITE",
    "All": "ALL",
}
PERMISSIONS = {"allow": "ALLOW", "deny": "DENY"}
CLUSTER_NAME = "kafka-cluster"  # Kafka's one cluster resource


class AclError(ValueError):
    """The chart could not be rendered, or a KafkaUser carries an ACL this translation does not know."""


@dataclass(frozen=True, order=True)
class Binding:
    """One Kafka ACL binding, in Kafka's own enum names (comparable with what the admin API returns)."""

    principal: str
    resource_type: str  # TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID
    name: str
    pattern: str  # LITERAL, PREFIXED
    operation: str  # READ, WRITE, ..., ALL
    permission: str = "ALLOW"
    host: str = "*"

    @property
    def user(self) -> str:
        return self.principal.removeprefix("User:")


def version_args() -> list[str]:
    """The render target and the ``--set`` values skaffold gives the release, from versions.env (the chart has no
    defaults for those versions): the same render the chart tests validate."""
    from tools.versions import get, helm_sets

    return ["--kube-version", get("KUBERNETES_VERSION"), *helm_sets()]


def render_args(helm: Path, values: Path = CHART / "values.yaml") -> list[str]:
    """``helm template`` with every pipeline and the Kafka UI enabled: every KafkaUser the chart can deploy."""
    pipelines = yaml.safe_load(values.read_text()).get("pipelines") or {}
    sets = [f"pipelines.{name}.enabled=true" for name in sorted(pipelines)] + ["ui.kafkaUi.enabled=true"]
    args = [str(helm), "template", "brook", str(CHART), "-n", "brook"]
    for item in sets:
        args += ["--set", item]
    return args + version_args()


def rendered_kafka_users(helm: Path) -> dict[str, list[dict]]:
    """KafkaUser name → its ``spec.authorization.acls`` as the chart renders them."""
    if not helm.exists():
        raise AclError(f"{helm} is missing: run `make tools` (the chart is the one source of Kafka users and ACLs).")
    proc = subprocess.run(render_args(helm), capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise AclError(f"helm template failed:\n{proc.stderr}")
    users: dict[str, list[dict]] = {}
    for doc in yaml.safe_load_all(proc.stdout):
        if doc and doc.get("kind") == "KafkaUser":
            authorization = doc["spec"].get("authorization") or {}
            if authorization.get("type") != "simple":
                raise AclError(f"KafkaUser {doc['metadata']['name']}: authorization {authorization.get('type')!r}")
            users[doc["metadata"]["name"]] = list(authorization.get("acls") or [])
    return users


def _resource(rule: dict, user: str) -> tuple[str, str, str]:
    """(Kafka resource type, name, pattern type) of one Strimzi AclRule resource."""
    resource = rule["resource"]
    kind = RESOURCE_TYPES.get(resource.get("type", ""))
    if kind is None:
        raise AclError(f"KafkaUser {user}: resource type {resource.get('type')!r} is not one Strimzi knows")
    if kind == "CLUSTER":
        return kind, CLUSTER_NAME, "LITERAL"
    pattern = PATTERN_TYPES.get(resource.get("patternType", "literal"))
    if pattern is None or not resource.get("name"):
        raise AclError(f"KafkaUser {user}: {resource} needs a name and patternType literal or prefix")
    return kind, str(resource["name"]), pattern


def rule_bindings(user: str, rule: dict) -> set[Binding]:
    """The bindings one Strimzi AclRule grants (or denies) to ``User:<user>``."""
    kind, name, pattern = _resource(rule, user)
    names = list(rule.get("operations") or []) + ([rule["operation"]] if rule.get("operation") else [])
    unknown = [op for op in names if op not in OPERATIONS]
    if unknown or not names:
        raise AclError(f"KafkaUser {user}: operations {names} (known: {', '.join(OPERATIONS)})")
    permission = PERMISSIONS.get(rule.get("type", "allow"))
    if permission is None:
        raise AclError(f"KafkaUser {user}: ACL type {rule.get('type')!r} is not allow or deny")
    host = str(rule.get("host", "*"))
    return {Binding(f"User:{user}", kind, name, pattern, OPERATIONS[op], permission, host) for op in names}


def chart_bindings(users: dict[str, list[dict]]) -> set[Binding]:
    """Every binding of every rendered KafkaUser."""
    return {binding for user, rules in users.items() for rule in rules for binding in rule_bindings(user, rule)}


def to_kafka(bindings: Iterable[Binding]) -> list:
    """kafka-python ``ACL`` objects (for ``KafkaAdminClient.create_acls``)."""
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern, ResourceType

    return [
        ACL(
            principal=b.principal,
            host=b.host,
            operation=ACLOperation[b.operation],
            permission_type=ACLPermissionType[b.permission],
            resource_pattern=ResourcePattern(ResourceType[b.resource_type], b.name, ACLResourcePatternType[b.pattern]),
        )
        for b in sorted(bindings)
    ]


def from_kafka(acls: Iterable) -> set[Binding]:
    """Bindings from kafka-python ``ACL`` objects (what ``describe_acls`` returns)."""
    return {
        Binding(
            acl.principal,
            acl.resource_pattern.resource_type.name,
            acl.resource_pattern.resource_name,
            acl.resource_pattern.pattern_type.name,
            acl.operation.name,
            acl.permission_type.name,
            acl.host,
        )
        for acl in acls
    }


def every_acl_filter():
    """An ACL filter matching every binding on the broker."""
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
    )

    pattern = ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)
    return ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY, pattern)


def broker_bindings(admin) -> set[Binding]:
    """Every ACL binding the broker holds, read back through the admin API."""
    acls, _ = admin.describe_acls(every_acl_filter())
    return from_kafka(acls)


def sync(admin, wanted: set[Binding]) -> tuple[int, int]:
    """Make the broker's bindings exactly ``wanted``: create the missing, delete the rest; (created, deleted)."""
    from kafka.admin import ACLFilter

    present = broker_bindings(admin)
    missing, extra = wanted - present, present - wanted
    if missing:
        result = admin.create_acls(to_kafka(missing))
        if result["failed"]:
            raise AclError(f"creating ACLs failed: {result['failed']}")
    if extra:
        filters = [
            ACLFilter(a.principal, a.host, a.operation, a.permission_type, a.resource_pattern) for a in to_kafka(extra)
        ]
        admin.delete_acls(filters)
    return len(missing), len(extra)


# --- the documentation table (docs/security.md), generated from the same render ------------------------------------

DOC = ROOT / "docs" / "security.md"
TABLE_START, TABLE_END = "<!-- kafka-acls:start -->", "<!-- kafka-acls:end -->"


def _resource_text(rule: dict) -> str:
    resource = rule["resource"]
    if resource["type"] == "cluster":
        return "cluster"
    star = "*" if resource.get("patternType") == "prefix" else ""
    return f"{resource['type']} `{resource['name']}{star}`"


def markdown_table(users: dict[str, list[dict]]) -> str:
    """User → what its ACLs allow, one row per user (prefix patterns shown as ``name*``)."""
    rows = ["| KafkaUser | allowed (everything else is denied) |", "|---|---|"]
    for user in sorted(users):
        grants = sorted(f"{_resource_text(rule)}: {', '.join(rule['operations'])}" for rule in users[user])
        rows.append(f"| `{user}` | {'<br>'.join(grants)} |")
    return "\n".join(rows)


def updated_doc(text: str, table: str) -> str:
    """``text`` with the generated table between its markers."""
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    return f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """``python -m jobs.local.kafka_acls [--check]``: write (or compare) the ACL table of docs/security.md."""
    import argparse
    import os
    import sys

    parser = argparse.ArgumentParser(prog="python -m jobs.local.kafka_acls", description=main.__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/security.md is stale")
    args = parser.parse_args(argv)
    helm = Path(os.environ.get("BROOK_HOME") or ROOT / ".brook").resolve() / "bin" / "helm"
    text = DOC.read_text()
    fresh = updated_doc(text, markdown_table(rendered_kafka_users(helm)))
    if args.check:
        if fresh != text:
            print(f"{DOC} is stale: run `python -m jobs.local.kafka_acls`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
