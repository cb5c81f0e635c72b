"""tools/validate.py (kubeconform + the operators' real CRD schemas) accepts valid resources and rejects wrong ones:
each operator kind Brook uses, and a core kind, one good and one bad — so the chart tests' "valid" means something."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tools.schemas import crd_to_jsonschema, kubernetes_schemas
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


# --- the schema generators themselves (tools/schemas, run by `make schemas`) --------------------------------------

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  names: {kind: Gadget, plural: gadgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties: {size: {type: integer}}
            status: {type: object, x-kubernetes-preserve-unknown-fields: true, properties: {x: {type: string}}}
    - name: v0
      served: false
      storage: false
      schema: {openAPIV3Schema: {type: object}}
"""


def test_crd_conversion_is_strict_where_the_api_server_prunes(tmp_path: Path) -> None:
    """Declared properties close the object (a typo fails instead of being pruned); preserve-unknown stays open;
    only served versions are written; the object envelope is admitted."""
    source = tmp_path / "crd.yaml"
    source.write_text(CRD)
    assert crd_to_jsonschema.main([str(tmp_path / "out"), str(source)]) == 0
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.json"))
    assert written == ["example.com/gadget_v1.json"]
    schema = json.loads((tmp_path / "out" / written[0]).read_text())
    assert schema["properties"]["spec"]["additionalProperties"] is False
    assert "additionalProperties" not in schema["properties"]["status"]
    assert {"apiVersion", "kind", "metadata"} <= set(schema["properties"])


def test_crd_conversion_refuses_inputs_without_a_crd(tmp_path: Path) -> None:
    source = tmp_path / "not-a-crd.yaml"
    source.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert crd_to_jsonschema.main([str(tmp_path / "out"), str(source)]) == 1


def test_kubernetes_schemas_name_the_available_versions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kubernetes_schemas.main(["0.0.1", str(tmp_path)]) == 1
    assert "available:" in capsys.readouterr().err
