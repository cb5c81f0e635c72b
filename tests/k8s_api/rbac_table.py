"""The least-privilege table of Brook's ServiceAccounts, asserted with `kubectl auth can-i --as=...` against the real
RBAC authorizer (tests/k8s_api/test_k8s_api_release.py, per profile). docs/kubernetes.md prints the same table.

A check is (verb, resource, subresource, namespace, resource name); namespace None = the release's namespace,
"*cluster*" = a cluster-scoped resource. `auth can-i` answers what RBAC allows, nothing else: a ServiceAccount that
may create pods in a namespace can also start a pod that mounts any Secret of that namespace (Kubernetes has no
finer rule for that), which is why the pod creators below are few and the namespace holds only Brook.
"""

from __future__ import annotations

from typing import NamedTuple


class Check(NamedTuple):
    verb: str
    resource: str
    subresource: str = ""
    namespace: str | None = None
    name: str = ""

    def __str__(self) -> str:
        res = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        res = f"{res} {self.name}" if self.name else res
        where = "" if self.namespace is None else f" -n {self.namespace}"
        return f"{self.verb} {res}{where}"


CLUSTER = "*cluster*"

# The Airflow ServiceAccounts (created by the official Airflow chart, release `airflow`) that Brook's Role
# brook-pod-launcher binds: Airflow's KubernetesPodOperator runs the DAG pods, follows their logs and reads the xcom
# sidecar through exec.
POD_LAUNCHER = [
    Check("create", "pods"),
    Check("get", "pods"),
    Check("list", "pods"),
    Check("watch", "pods"),
    Check("delete", "pods"),
    Check("patch", "pods"),
    Check("get", "pods", "log"),
    Check("create", "pods", "exec"),
    Check("list", "events"),
]
AIRFLOW_SERVICE_ACCOUNTS = ("airflow-scheduler", "airflow-worker", "airflow-triggerer")

# What each ServiceAccount Brook creates may do in the release's namespace.
MAY: dict[str, list[Check]] = {
    # The Flink JobManager: creates its TaskManager pods, HA leader ConfigMaps, and (native mode) its Deployment.
    "brook-flink": [
        Check("create", "pods"),
        Check("delete", "pods"),
        Check("watch", "pods"),
        Check("create", "configmaps"),
        Check("update", "configmaps"),
        Check("create", "deployments.apps"),
        Check("update", "deployments.apps", "finalizers"),
    ],
    # The DAG pods' identities: no API rights at all (their tokens are not even mounted).
    "brook-exporter": [],
    "brook-telecom-batch": [],
    "brook-cinema-generator": [],
    "brook-cinema-lag": [],
    "brook-cinema-dbt": [],
    "brook-ecommerce-batch": [],
    # Strimzi's ServiceAccount of KafkaConnect brook-iot-connect: its config provider reads the Debezium login only.
    "brook-iot-connect-connect": [Check("get", "secrets", name="brook-iot-replication")],
    **{sa: POD_LAUNCHER for sa in AIRFLOW_SERVICE_ACCOUNTS},
    # Not Brook's, but every pod without serviceAccountName runs as it: nothing either.
    "default": [],
}

# What none of them may do: other namespaces, Secrets, RBAC, cluster scope.
MUST_NOT_ANY: list[Check] = [
    Check("get", "secrets"),
    Check("list", "secrets"),
    Check("watch", "secrets"),
    Check("get", "secrets", name="brook-credentials"),
    Check("create", "secrets"),
    Check("create", "pods", namespace="default"),
    Check("create", "pods", namespace="kube-system"),
    Check("create", "pods", namespace="brook-operators"),
    Check("get", "secrets", namespace="kube-system"),
    Check("create", "serviceaccounts", "token"),
    Check("create", "roles.rbac.authorization.k8s.io"),
    Check("create", "rolebindings.rbac.authorization.k8s.io"),
    Check("escalate", "roles.rbac.authorization.k8s.io"),
    Check("bind", "roles.rbac.authorization.k8s.io"),
    Check("create", "pods", "portforward"),
    Check("create", "pods", "attach"),
    Check("update", "pods", "ephemeralcontainers"),
    Check("create", "jobs.batch"),
    Check("patch", "kafkausers.kafka.strimzi.io"),
    Check("patch", "flinkdeployments.flink.apache.org"),
    Check("get", "clusters.postgresql.cnpg.io"),
    Check("create", "networkpolicies.networking.k8s.io"),
    Check("delete", "networkpolicies.networking.k8s.io"),
    Check("list", "nodes", namespace=CLUSTER),
    Check("list", "namespaces", namespace=CLUSTER),
    Check("create", "clusterrolebindings.rbac.authorization.k8s.io", namespace=CLUSTER),
    Check("create", "customresourcedefinitions.apiextensions.k8s.io", namespace=CLUSTER),
    Check("impersonate", "serviceaccounts"),
    Check("impersonate", "users", namespace=CLUSTER),
    Check("create", "certificatesigningrequests.certificates.k8s.io", namespace=CLUSTER),
]

# Per ServiceAccount, beyond MUST_NOT_ANY: what the neighbouring grants make tempting.
MUST_NOT: dict[str, list[Check]] = {
    "brook-flink": [
        Check("get", "pods", "log"),
        Check("create", "pods", "exec"),
        Check("create", "services"),
        Check("list", "events"),
    ],
    "brook-exporter": [Check("get", "pods"), Check("create", "pods"), Check("get", "configmaps")],
    "brook-telecom-batch": [Check("get", "pods"), Check("create", "pods"), Check("get", "configmaps")],
    "brook-ecommerce-batch": [Check("get", "pods"), Check("create", "pods"), Check("get", "configmaps")],
    **{
        f"brook-cinema-{step}": [Check("get", "pods"), Check("create", "pods"), Check("get", "configmaps")]
        for step in ("generator", "lag", "dbt")
    },
    **{
        sa: [
            Check("create", "deployments.apps"),
            Check("create", "configmaps"),
            Check("update", "pods", "status"),
            Check("delete", "events"),
        ]
        for sa in AIRFLOW_SERVICE_ACCOUNTS
    },
    "brook-iot-connect-connect": [
        Check("get", "secrets", name="brook-iot-source-app-credentials"),
        Check("get", "secrets", name="brook-iot-connect"),
        Check("update", "secrets", name="brook-iot-replication"),
        Check("get", "pods"),
        Check("create", "pods"),
        Check("get", "configmaps"),
    ],
    "default": [Check("get", "pods"), Check("create", "pods"), Check("get", "configmaps")],
}


def table(created: set[str]) -> list[tuple[str, Check, bool]]:
    """(service account, check, expected answer) for the ServiceAccounts a release created, the Airflow ones its Role
    binds, and `default`."""
    rows = []
    for sa in sorted(created | set(AIRFLOW_SERVICE_ACCOUNTS) | {"default"}):
        rows += [(sa, check, True) for check in MAY[sa]]
        rows += [(sa, check, False) for check in MUST_NOT_ANY + MUST_NOT[sa]]
    return rows


def can_i_args(sa_namespace: str, sa: str, check: Check, namespace: str) -> list[str]:
    args = ["auth", "can-i", check.verb, f"{check.resource}/{check.name}" if check.name else check.resource]
    if check.subresource:
        args.append(f"--subresource={check.subresource}")
    if check.namespace != CLUSTER:
        args += ["-n", check.namespace or namespace]
    return [*args, f"--as=system:serviceaccount:{sa_namespace}:{sa}"]
