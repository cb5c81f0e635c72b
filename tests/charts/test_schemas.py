"""tools/validate.py (kubeconform + the operators' real CRD schemas) accepts valid resources and rejects wrong ones:
each operator kind Brook uses, and a core kind, one good and one bad — so the chart tests' "valid" means something."""

from __future__ import annotations

import pytest
import yaml

from tools.validate import validate

pytestmark = pytest.mark.charts

GOOD = {
    "Kafka": """
apiVersion: kafka.strimzi.io/v1
kind: Kafka
metadata: {name: brook}
spec:
  kafka:
    listeners: [{name: plain, port: 9092, type: internal, tls: false}]
  entityOperator: {topicOperator: {}, userOperator: {}}
""",
    "KafkaNodePool": """
apiVersion: kafka.strimzi.io/v1
kind: KafkaNodePool
metadata: {name: dual, labels: {strimzi.io/cluster: brook}}
spec: {replicas: 1, roles: [controller, broker], storage: {type: ephemeral}}
""",
    "KafkaTopic": """
apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: {name: bets, labels: {strimzi.io/cluster: brook}}
spec: {partitions: 3, replicas: 1}
""",
    "KafkaUser": """
apiVersion: kafka.strimzi.io/v1
kind: KafkaUser
metadata: {name: brook-consumer, labels: {strimzi.io/cluster: brook}}
spec:
  authentication: {type: scram-sha-512}
  authorization:
    type: simple
    acls: [{resource: {type: topic, name: bets}, operations: [Read, Describe]}]
""",
    "Cluster": """
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: brook-pg}
spec: {instances: 1, storage: {size: 1Gi}}
""",
    "FlinkDeployment": """
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata: {name: top-games}
spec:
  image: brook/flink-job:dev
  flinkVersion: v2_0
  serviceAccount: flink
  jobManager: {resource: {memory: 1024m, cpu: 0.5}}
  taskManager: {resource: {memory: 1024m, cpu: 0.5}}
  job: {jarURI: "local:///opt/flink/opt/flink-python.jar", entryClass: org.apache.flink.client.python.PythonDriver,
        args: [-pym, jobs.bets.flink.top_games], upgradeMode: savepoint}
""",
    "Deployment": """
apiVersion: apps/v1
kind: Deployment
metadata: {name: consumer}
spec:
  selector: {matchLabels: {app: consumer}}
  template:
    metadata: {labels: {app: consumer}}
    spec: {containers: [{name: consumer, image: brook/app:dev}]}
""",
}
# One mistake per kind: a misspelled field (strictness) or a wrong type/enum.
BREAK = {
    "Kafka": lambda r: r["spec"]["kafka"].update(listener=[]),
    "KafkaNodePool": lambda r: r["spec"].update(replicas="one"),
    "KafkaTopic": lambda r: r["spec"].update(partitions="three"),
    "KafkaUser": lambda r: r["spec"]["authentication"].update(type="plaintext"),
    "Cluster": lambda r: r["spec"].update(instance=1),
    "FlinkDeployment": lambda r: r["spec"]["job"].update(upgradeMode="sometimes"),
    "Deployment": lambda r: r["spec"]["template"]["spec"]["containers"][0].update(imagePullPolice="Always"),
}


@pytest.mark.parametrize("kind", GOOD)
def test_valid_resource_passes(kind: str) -> None:
    ok, output = validate(GOOD[kind])
    assert ok, output


@pytest.mark.parametrize("kind", GOOD)
def test_broken_resource_fails(kind: str) -> None:
    resource = yaml.safe_load(GOOD[kind])
    BREAK[kind](resource)
    ok, output = validate(yaml.safe_dump(resource))
    assert not ok and "Invalid: 1" in output, output


def test_unknown_kind_is_an_error_not_a_skip() -> None:
    ok, output = validate("apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n")
    assert not ok and "could not find schema" in output
