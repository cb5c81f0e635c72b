"""Brook's chart against a real API server, per profile (kind, prod, and kind with every optional part on): the helm
lifecycle, Pod Security `restricted` on every pod the controllers create, and the least-privilege table of Brook's
ServiceAccounts.

Per profile, in order: `helm install` with its hooks, the objects and pods it yields, the can-i table, `helm upgrade`
with unchanged values (generated Secrets kept), for kind the switch to the prod values, `helm rollback`,
`helm uninstall` (what `helm.sh/resource-policy: keep` leaves) and a reinstall (the kept credentials reused).

Proven: the API server accepts and creates every object of every step (schemas, the operators' CRDs, admission,
RBAC objects); `helm lookup` keeps the generated credentials; kube-controller-manager turns Deployments into
ReplicaSets into Pods and Jobs into Pods, and Pod Security admission lets every one of them in (no FailedCreate);
RBAC answers the table below as written.
Not proven (no kubelet, no node, no operator runs here): that any container starts, that the hook Jobs complete
(helm waits for them until its --timeout, so every install/upgrade here ends "failed" on the first post-* hook, which
is asserted to be the only error; the other hooks are then checked with a server-side dry run), that Strimzi, CNPG
or the Flink operator accept the custom resources at runtime, that NetworkPolicies admit or block any traffic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import yaml

from tests.k8s_api import rbac_table
from tests.k8s_api.conftest import CHART, VERSION_SETS, get_json, ok
from tests.waiting import wait_for
from tools.cluster.control_plane import ROOT, ControlPlane

pytestmark = pytest.mark.k8s_api

NAMESPACE = "brook"
RELEASE = "brook"
KIND_VALUES = ("-f", str(CHART / "values-kind.yaml"), *VERSION_SETS)
OPTIONAL_PARTS = (
    "pipelines.telecom.enabled",
    "pipelines.cinema.enabled",
    "pipelines.iot.enabled",
    "pipelines.behaviour.enabled",
    "pipelines.ecommerce.enabled",
    "postgres.backup.enabled",
    "postgres.backup.alerts.enabled",
    "monitoring.enabled",
)
PROD_VALUES = ("-f", str(CHART / "values-prod.yaml"), *VERSION_SETS)
PROFILES = {
    "kind": KIND_VALUES,
    "prod": PROD_VALUES,
    # Every part that is off by default: the telecom, cinema, iot, behaviour and ecommerce pipelines, Postgres
    # backups (Barman Cloud plugin) and their alerts, monitoring (PodMonitors, Brook's PrometheusRule).
    "optional": (*KIND_VALUES, *(f"--set={key}=true" for key in OPTIONAL_PARTS)),
    # Bring your own Kafka, Postgres and S3 (kafka/postgres/s3.external): none of Strimzi, CNPG's brook-pg or MinIO.
    "external": (*KIND_VALUES, "-f", str(ROOT / "tests" / "k8s_api" / "values-external.yaml")),
}
# Secrets every profile's release creates and keeps (resource-policy keep); MinIO's is not rendered under s3.external.
KEPT_SECRETS = {profile: {"brook-credentials", "brook-minio"} for profile in PROFILES} | {
    "external": {"brook-credentials"}
}
# How long helm waits for a hook Job that no node will ever run (helm's --timeout, per operation).
HOOK_TIMEOUT = "5s"
KEEP = "helm.sh/resource-policy"


@dataclass
class Release:
    plane: ControlPlane
    profile: str
    install: object = None
    secrets: dict = field(default_factory=dict)

    def helm(self, verb: str, *args: str):
        return self.plane.helm(verb, RELEASE, *args, "-n", NAMESPACE, "--timeout", HOOK_TIMEOUT)

    def install_or_upgrade(self, verb: str, values: tuple[str, ...]):
        return self.helm(verb, str(CHART), *values, "--wait=false")

    def manifest(self, revision: int | None = None) -> list[dict]:
        args = ["get", "manifest", RELEASE, "-n", NAMESPACE] + ([f"--revision={revision}"] if revision else [])
        return [d for d in yaml.safe_load_all(ok(self.plane.helm(*args))) if d]

    def hooks(self) -> list[dict]:
        return [d for d in yaml.safe_load_all(ok(self.plane.helm("get", "hooks", RELEASE, "-n", NAMESPACE))) if d]

    def status(self) -> dict:
        return json.loads(ok(self.plane.helm("status", RELEASE, "-n", NAMESPACE, "-o", "json")))


def only_hook_timeout(proc, phase: str) -> None:
    """The step succeeded, or failed only because its first ``phase`` hook Job did not complete before helm's
    timeout (no node runs it). Anything else (a rejected object, an immutable field, a PodSecurity warning) fails."""
    assert "violate PodSecurity" not in proc.stderr, proc.stderr
    if proc.returncode == 0:
        return
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    # helm says "failed post-install: ..." on install, "post-upgrade hooks failed: ..." on upgrade.
    assert len(errors) == 1 and re.search(rf"failed {phase}|{phase} hooks failed", errors[0]), proc.stderr
    assert re.search(r"timed out|deadline exceeded|not ready", proc.stderr), proc.stderr


def secret_data(plane: ControlPlane) -> dict[str, dict]:
    """Every Secret of the namespace but helm's release records: name → data."""
    items = get_json(plane, "-n", NAMESPACE, "secrets")["items"]
    return {s["metadata"]["name"]: s.get("data", {}) for s in items if s.get("type") != "helm.sh/release.v1"}


def missing_objects(plane: ControlPlane, objects: list[dict]) -> list[str]:
    """Objects of a manifest the API server does not have."""
    stdin = yaml.safe_dump_all(objects)
    proc = plane.kubectl("-n", NAMESPACE, "get", "--ignore-not-found", "-o", "name", "-f", "-", stdin=stdin)
    found = set(ok(proc).split())
    wanted = {f"{o['kind'].lower()}/{o['metadata']['name']}" for o in objects}
    # kubectl prints "<resource>.<group>/<name>" for grouped kinds: compare kind and name only.
    found_short = {f"{n.split('/')[0].split('.')[0]}/{n.split('/')[1]}" for n in found}
    return sorted(w for w in wanted if w not in found_short)


def reset_namespace(plane: ControlPlane) -> None:
    """An empty `brook` namespace with k8s/namespace.yaml's labels (deleted with everything in it, then re-applied)."""
    ok(plane.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", "--timeout=180s"))
    ok(plane.kubectl("apply", "-f", str(ROOT / "k8s" / "namespace.yaml")))


@pytest.fixture(scope="module", params=list(PROFILES))
def release(request, k8s_api, crds, namespaces) -> Iterator[Release]:
    """The profile's release, installed with its hooks into an empty `brook` namespace; removed with it at the end."""
    reset_namespace(k8s_api)
    rel = Release(k8s_api, request.param)
    rel.install = rel.install_or_upgrade("install", PROFILES[rel.profile])
    rel.secrets = secret_data(k8s_api)
    yield rel
    k8s_api.helm("uninstall", RELEASE, "-n", NAMESPACE, "--timeout", HOOK_TIMEOUT)
    reset_namespace(k8s_api)


def test_install_accepted(release):
    """`helm install` with hooks: every object of the release is accepted and created; the only error is the hook
    timeout, and the generated credentials exist."""
    only_hook_timeout(release.install, "post-install")
    objects = release.manifest()
    assert objects
    assert missing_objects(release.plane, objects) == []
    assert KEPT_SECRETS[release.profile] <= set(release.secrets)


def test_hook_jobs(release):
    """The first post-install hook Job is created (and its pod by the Job controller); helm stops there, so every
    other hook is checked with a server-side dry run: accepted, no Pod Security warning. None completes here."""
    hooks = release.hooks()
    assert hooks and all(h["kind"] == "Job" for h in hooks), [h["kind"] for h in hooks]
    existing = {j["metadata"]["name"] for j in get_json(release.plane, "-n", NAMESPACE, "jobs")["items"]} & {
        h["metadata"]["name"] for h in hooks
    }
    assert existing, "helm created no hook Job"
    for name in existing:
        pods = wait_for(
            f"a pod of hook Job {name}",
            lambda name=name: get_json(release.plane, "-n", NAMESPACE, "pods", "-l", f"job-name={name}")["items"],
        )
        assert all(p["status"]["phase"] == "Pending" and not p["spec"].get("nodeName") for p in pods)
    for hook in hooks:
        if hook["metadata"]["name"] in existing:
            continue
        proc = release.plane.kubectl("-n", NAMESPACE, "create", "--dry-run=server", "-f", "-", stdin=json.dumps(hook))
        ok(proc)
        assert "violate PodSecurity" not in proc.stderr, proc.stderr


def expected_pods(objects: list[dict]) -> dict[str, tuple[dict, int]]:
    """Deployment name → (its selector labels, replicas) for every Deployment of the manifest with replicas > 0."""
    out = {}
    for obj in objects:
        if obj["kind"] == "Deployment" and obj["spec"].get("replicas", 1) > 0:
            out[obj["metadata"]["name"]] = (obj["spec"]["selector"]["matchLabels"], obj["spec"].get("replicas", 1))
    return out


def test_every_pod_admitted(release):
    """Deployments → ReplicaSets → Pods through kube-controller-manager, under Pod Security `restricted` enforced on
    the namespace: every pod exists (admitted) and stays Pending (no node); no FailedCreate event anywhere."""
    deployments = expected_pods(release.manifest())
    assert deployments
    for name, (labels, replicas) in deployments.items():
        selector = ",".join(f"{k}={v}" for k, v in labels.items())

        def pods(selector=selector, replicas=replicas):
            items = get_json(release.plane, "-n", NAMESPACE, "pods", "-l", selector)["items"]
            return items if len(items) >= replicas else None

        items = wait_for(f"{replicas} pod(s) of Deployment {name}", pods, timeout=90)
        assert all(not p["spec"].get("nodeName") for p in items), "no node: nothing may be bound"
    events = get_json(release.plane, "-n", NAMESPACE, "events")["items"]
    failed = [f"{e['involvedObject']['name']}: {e['message']}" for e in events if e["reason"] == "FailedCreate"]
    assert failed == []


def test_least_privilege_table(release):
    """`kubectl auth can-i --as=system:serviceaccount:brook:<sa>` for every ServiceAccount the release creates, the
    Airflow ones its Role binds, and `default`: what each may do, and what none may (tests/k8s_api/rbac_table.py)."""
    manifest = release.manifest()
    created = {o["metadata"]["name"] for o in manifest if o["kind"] == "ServiceAccount"}
    # ServiceAccounts an operator creates (Strimzi's <KafkaConnect>-connect) that the chart's RoleBindings grant to.
    created |= {
        s["name"]
        for o in manifest
        if o["kind"] == "RoleBinding"
        for s in o["subjects"]
        if s["kind"] == "ServiceAccount" and s.get("namespace", NAMESPACE) == NAMESPACE
    }
    assert created <= set(rbac_table.MAY), f"no row in the least-privilege table for {created - set(rbac_table.MAY)}"
    rows = rbac_table.table(created)

    def ask(row):
        sa, check, _ = row
        proc = release.plane.kubectl(*rbac_table.can_i_args(NAMESPACE, sa, check, NAMESPACE))
        answer = proc.stdout.strip()
        assert answer in {"yes", "no"}, proc.stderr
        return answer == "yes"

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(ask, rows))
    wrong = [
        f"{sa}: {check} → {'yes' if got else 'no'}"
        for (sa, check, want), got in zip(rows, answers, strict=True)
        if got != want
    ]
    assert wrong == [], "\n".join(wrong)


def test_upgrade_unchanged_values_keeps_secrets(release):
    """`helm upgrade` with the same values: accepted (hook timeout aside), and every Secret's data is unchanged (the
    chart looks brook-credentials up on the server instead of generating new passwords)."""
    proc = release.install_or_upgrade("upgrade", PROFILES[release.profile])
    only_hook_timeout(proc, "post-upgrade")
    assert release.status()["version"] == 2
    assert missing_objects(release.plane, release.manifest()) == []
    assert secret_data(release.plane) == release.secrets


@pytest.mark.parametrize("release", ["optional"], indirect=True)
def test_optional_parts_on_the_server(release):
    """With every optional part on, the server holds what each adds: the Barman Cloud plugin's ObjectStore, CNPG's
    ScheduledBackup and the Cluster that archives its WAL through the plugin into that store, the backup alerts'
    PrometheusRule and Brook's (monitoring), monitoring's PodMonitors, and the telecom pipeline's topic. (Their CRDs
    are applied by the `crds` fixture; no plugin, operator or Prometheus runs here to act on them.)"""
    only_hook_timeout(release.install, "post-install")
    kinds = {(o["kind"], o["metadata"]["name"]) for o in release.manifest()}
    for kind, count in (("ObjectStore", 1), ("ScheduledBackup", 1), ("PrometheusRule", 2), ("PodMonitor", 4)):
        names = [name for k, name in kinds if k == kind]
        assert len(names) == count, f"{kind}: {names}"
        ok(release.plane.kubectl("-n", NAMESPACE, "get", kind.lower(), *names))
    store = next(name for k, name in kinds if k == "ObjectStore")
    clusters = get_json(release.plane, "-n", NAMESPACE, "clusters.postgresql.cnpg.io")["items"]
    [cluster] = [c for c in clusters if "plugins" in c["spec"]]  # Brook's; the cinema pipeline adds two of its own
    # `enabled: true` is not in the chart: the API server defaults it from CNPG's CRD schema.
    plugin = {"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": True, "enabled": True}
    assert cluster["spec"]["plugins"] == [{**plugin, "parameters": {"barmanObjectName": store}}]
    scheduled = next(name for k, name in kinds if k == "ScheduledBackup")
    spec = get_json(release.plane, "-n", NAMESPACE, "scheduledbackup", scheduled)["spec"]
    assert spec["method"] == "plugin" and spec["cluster"]["name"] == cluster["metadata"]["name"], spec
    topics = [name for k, name in kinds if k == "KafkaTopic"]
    assert any("telecom" in name for name in topics), topics
    # The cinema pipeline's logical replication and the iot pipeline's Publication for Debezium, accepted by CNPG's
    # CRDs; iot's KafkaConnect and KafkaConnector by Strimzi's (tools/schemas: `make schemas`).
    expected = {
        "publications.postgresql.cnpg.io": ("Publication", 2),
        "subscriptions.postgresql.cnpg.io": ("Subscription", 1),
        "kafkaconnects.kafka.strimzi.io": ("KafkaConnect", 1),
        "kafkaconnectors.kafka.strimzi.io": ("KafkaConnector", 1),
    }
    for resource, (kind, count) in expected.items():
        names = [name for k, name in kinds if k == kind]
        assert len(names) == count, f"{kind}: {names}"
        for name in names:
            ok(release.plane.kubectl("-n", NAMESPACE, "get", resource, name))


@pytest.mark.parametrize("release", ["external"], indirect=True)
def test_external_services_on_the_server(release):
    """Bring your own Kafka, Postgres, S3 (tests/k8s_api/values-external.yaml): the namespace holds no Strimzi Kafka,
    no CNPG Cluster and nothing of MinIO, and the pods the controllers created take each login from the user's Secret
    (their KafkaUser's for Kafka). Those Secrets need not exist for admission; no kubelet here would start the pods."""
    only_hook_timeout(release.install, "post-install")
    for resource in ("kafkas.kafka.strimzi.io", "clusters.postgresql.cnpg.io", "persistentvolumeclaims"):
        assert get_json(release.plane, "-n", NAMESPACE, resource)["items"] == [], resource
    assert not [n for n in secret_data(release.plane) if "minio" in n]
    selector = "app.kubernetes.io/component=consumer"
    [pod] = wait_for(
        "the consumer's pod", lambda: get_json(release.plane, "-n", NAMESPACE, "pods", "-l", selector)["items"]
    )
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"]
        for e in pod["spec"]["containers"][0].get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert refs == {
        "BROOK_KAFKA_USERNAME": "byo-kafka-consumer",
        "BROOK_KAFKA_PASSWORD": "byo-kafka-consumer",
        "BROOK_PG_USER": "byo-pg",
        "BROOK_PG_PASSWORD": "byo-pg",
    }
    [ca] = [v for v in pod["spec"]["volumes"] if v["name"] == "kafka-ca"]
    assert ca["secret"]["secretName"] == "byo-kafka-ca"


@pytest.mark.parametrize("release", ["kind"], indirect=True)
def test_upgrade_kind_to_prod(release):
    """A kind-profile release upgraded to values-prod.yaml (issue 11's profile switch, fixed by rendering an existing
    MinIO claim as it is): every object of the prod manifest accepted, credentials kept."""
    proc = release.install_or_upgrade("upgrade", PROD_VALUES)
    only_hook_timeout(proc, "post-upgrade")
    assert missing_objects(release.plane, release.manifest()) == []
    # prod turns the UIs off (their Secrets go); every Secret that remains keeps its data.
    after = secret_data(release.plane)
    assert "brook-credentials" in after
    assert {k: v for k, v in release.secrets.items() if k in after} == after


def test_rollback(release):
    """`helm rollback` to revision 1 (no rollback hooks in the chart): succeeds, and the release's objects are
    revision 1's again."""
    ok(release.helm("rollback", "1"))
    status = release.status()
    assert status["info"]["status"] == "deployed"
    assert release.manifest() == release.manifest(revision=1)
    assert missing_objects(release.plane, release.manifest()) == []
    assert secret_data(release.plane) == release.secrets


def test_uninstall_and_reinstall(release):
    """`helm uninstall` removes every object but the ones marked `helm.sh/resource-policy: keep` (the credentials
    and MinIO's volume claim); hook Jobs that never succeeded stay behind too (helm deletes hooks only by their
    delete policy). A reinstall adopts the kept objects and reuses the same credentials."""
    objects = release.manifest()
    ok(release.helm("uninstall"))
    kept = [o for o in objects if (o["metadata"].get("annotations") or {}).get(KEEP) == "keep"]
    gone = [o for o in objects if o not in kept]
    assert {o["metadata"]["name"] for o in kept} >= KEPT_SECRETS[release.profile]
    assert sorted(missing_objects(release.plane, gone)) == sorted(
        f"{o['kind'].lower()}/{o['metadata']['name']}" for o in gone
    )
    assert missing_objects(release.plane, kept) == []

    proc = release.install_or_upgrade("install", PROFILES[release.profile])
    only_hook_timeout(proc, "post-install")
    assert missing_objects(release.plane, release.manifest()) == []
    assert secret_data(release.plane) == release.secrets


def test_audit_job_from_cronjob_admitted(release):
    """Each audit CronJob (a suspended template), started as `make k8s-audit` starts it (`kubectl create job
    --from=cronjob/...`): the Job is accepted and the Job controller's pod admitted under `restricted`. The audit
    itself never runs here (no node)."""
    cronjobs = [o["metadata"]["name"] for o in release.manifest() if o["kind"] == "CronJob"]
    assert cronjobs
    for name in cronjobs:
        job = f"{name}-k8s-api"
        ok(release.plane.kubectl("-n", NAMESPACE, "create", "job", job, f"--from=cronjob/{name}"))
        pods = wait_for(
            f"a pod of Job {job}",
            lambda job=job: get_json(release.plane, "-n", NAMESPACE, "pods", "-l", f"job-name={job}")["items"],
        )
        assert all(not p["spec"].get("nodeName") for p in pods)
    events = get_json(release.plane, "-n", NAMESPACE, "events")["items"]
    assert [e["message"] for e in events if e["reason"] == "FailedCreate"] == []
