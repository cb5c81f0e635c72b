"""postgres.backup (templates/backup.yaml, the Cluster's plugins entry) and k8s/recovery/: WAL archiving and scheduled
base backups through the Barman Cloud plugin into MinIO, least-privilege credentials, the archive alerts, and the
recovery manifest. Every profile with backups on passes kubeconform against the CNPG 1.30.0, Barman Cloud plugin
and Prometheus Operator CRDs (make backup-schemas)."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.charts.conftest import PROFILES, ROOT, render, render_text, template
from tools.validate import validate

pytestmark = pytest.mark.charts
ON = ("postgres.backup.enabled=true",)
ALERTS = (*ON, "postgres.backup.alerts.enabled=true")
PLUGIN = "barman-cloud.cloudnative-pg.io"
RECOVERY = ROOT / "k8s" / "recovery" / "brook-pg-recovered.yaml"


def one(docs: list[dict], kind: str, name: str | None = None) -> dict:
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"{len(found)} {kind} {name or ''}"
    return found[0]


def cluster(docs: list[dict]) -> dict:
    return one(docs, "Cluster")


@pytest.mark.parametrize("profile", PROFILES)
def test_backups_pass_kubeconform(profile: str) -> None:
    ok, output = validate(render_text(profile, *ALERTS))
    assert ok, output


@pytest.mark.parametrize("profile", PROFILES)
def test_off_by_default_renders_nothing_of_it(profile: str) -> None:
    docs = render(profile)
    kinds = {d["kind"] for d in docs}
    assert not kinds & {"ObjectStore", "ScheduledBackup", "PrometheusRule"}
    assert "plugins" not in cluster(docs)["spec"]


@pytest.mark.parametrize("profile", PROFILES)
def test_the_cluster_archives_wal_through_the_plugin(profile: str) -> None:
    docs = render(profile, *ON)
    (plugin,) = cluster(docs)["spec"]["plugins"]
    assert plugin["name"] == PLUGIN and plugin["isWALArchiver"] is True
    assert one(docs, "ObjectStore", plugin["parameters"]["barmanObjectName"])
    assert "backup" not in cluster(docs)["spec"], "no deprecated in-tree barmanObjectStore"


def test_object_store_bucket_endpoint_credentials_and_retention() -> None:
    docs = render("kind", *ON, "postgres.backup.retentionPolicy=2w", "postgres.backup.bucket=pg-archive")
    store = one(docs, "ObjectStore")["spec"]
    assert store["retentionPolicy"] == "2w"
    config = store["configuration"]
    assert config["destinationPath"] == "s3://pg-archive/"
    assert config["endpointURL"] == "http://brook-minio:9000"
    secret = one(docs, "Secret", config["s3Credentials"]["accessKeyId"]["name"])
    assert {config["s3Credentials"][k]["key"] for k in ("accessKeyId", "secretAccessKey")} <= set(secret["stringData"])


def test_credentials_are_the_backup_user_not_minio_root() -> None:
    docs = render("kind", *ON)
    secret = one(docs, "Secret", "brook-pg-backup-s3")
    root = one(docs, "Secret", "brook-minio")["stringData"]
    assert secret["stringData"]["ACCESS_KEY_ID"] == "brook-pg-backup"
    assert len(secret["stringData"]["ACCESS_SECRET_KEY"]) >= 32
    assert secret["stringData"]["ACCESS_SECRET_KEY"] not in root.values()
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_policy_allows_only_the_backup_bucket() -> None:
    docs = render("kind", *ON)
    policy = json.loads(one(docs, "ConfigMap", "brook-pg-backup-policy")["data"]["policy.json"])
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    bucket = "arn:aws:s3:::brook-pg-backups"
    assert resources and all(r in (bucket, f"{bucket}/*") for r in resources)
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert all(a.startswith("s3:") and "*" not in a for a in actions)
    assert not any(a.startswith(("s3:PutBucket", "s3:DeleteBucket")) for a in actions)


def test_setup_job_creates_bucket_policy_and_user() -> None:
    docs = render("kind", *ON)
    job = next(d for d in docs if d["kind"] == "Job" and d["metadata"]["name"].startswith("brook-pg-backup-setup"))
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    for step in ("mc mb --ignore-existing brook/brook-pg-backups", "mc admin policy create", "mc admin user add"):
        assert step in script
    assert "mc admin policy attach brook brook-pg-backup" in script
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes["policy"]["configMap"]["name"] == "brook-pg-backup-policy"


def test_scheduled_backup_uses_the_plugin_on_the_values_schedule() -> None:
    docs = render("kind", *ON, "postgres.backup.schedule=0 30 2 * * 0")
    spec = one(docs, "ScheduledBackup")["spec"]
    assert spec["method"] == "plugin" and spec["pluginConfiguration"]["name"] == PLUGIN
    assert spec["cluster"]["name"] == cluster(docs)["metadata"]["name"]
    assert spec["schedule"] == "0 30 2 * * 0"


def test_postgres_pods_may_reach_minio() -> None:
    docs = render("kind", *ON)
    policy = one(docs, "NetworkPolicy", "brook-minio-backup-ingress")
    peers = [p["podSelector"]["matchLabels"] for p in policy["spec"]["ingress"][0]["from"]]
    assert {"cnpg.io/cluster": "brook-pg"} in peers
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": 9000, "protocol": "TCP"}]
    assert not [d for d in render("kind", *ON, "networkPolicies.enabled=false") if d["kind"] == "NetworkPolicy"]


def test_alerts_for_failing_and_lagging_archiving() -> None:
    assert not [d for d in render("kind", *ON) if d["kind"] == "PrometheusRule"]
    docs = render("kind", *ALERTS, "postgres.backup.alerts.maxSecondsSinceArchival=900")
    rules = {r["alert"]: r for g in one(docs, "PrometheusRule")["spec"]["groups"] for r in g["rules"]}
    assert set(rules) == {"BrookWALArchiveFailing", "BrookWALArchiveLagging", "BrookBaseBackupFailing"}
    failing, lagging = rules["BrookWALArchiveFailing"]["expr"], rules["BrookWALArchiveLagging"]["expr"]
    assert "cnpg_pg_stat_archiver_last_failed_time" in failing and 'pod=~"brook-pg-[0-9]+"' in failing
    assert "cnpg_pg_stat_archiver_seconds_since_last_archival" in lagging and "> 900" in lagging
    assert 'cnpg_collector_pg_wal_archive_status{namespace="brook"' in lagging
    assert rules["BrookWALArchiveFailing"]["labels"]["severity"] == "critical"
    assert "barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp" in rules["BrookBaseBackupFailing"]["expr"]


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ("postgres: {backup: {retentionPolicy: 30 days}}", "retentionPolicy"),
        ("postgres: {backup: {schedule: '0 3 * * *'}}", "schedule"),
        ("postgres: {backup: {walCompression: zip}}", "walCompression"),
        ("postgres: {backup: {bucket: Bad_Bucket}}", "bucket"),
        ("postgres: {backup: {typo: 1}}", "typo"),
    ],
)
def test_schema_refuses_bad_backup_values(values: str, key: str) -> None:
    proc = template("kind", values)
    assert proc.returncode != 0 and key in proc.stderr, proc.stderr


def test_recovery_manifest_is_valid_and_restores_from_the_charts_archive() -> None:
    ok, output = validate([str(RECOVERY)])
    assert ok, output
    recovered = yaml.safe_load(RECOVERY.read_text())
    docs = render("kind", *ON)
    store = one(docs, "ObjectStore")["metadata"]["name"]
    origin = cluster(docs)["metadata"]["name"]
    (source,) = recovered["spec"]["externalClusters"]
    assert recovered["spec"]["bootstrap"]["recovery"]["source"] == source["name"]
    assert source["plugin"]["parameters"] == {"barmanObjectName": store, "serverName": origin}
    assert recovered["spec"]["bootstrap"]["recovery"]["recoveryTarget"]["targetTime"]
    (own,) = recovered["spec"]["plugins"]
    assert own["isWALArchiver"] and own["parameters"]["serverName"] not in (origin, None)
