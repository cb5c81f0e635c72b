# kubeconform schemas, all offline, into $(BROOK_HOME)/schemas: Kubernetes' own (KUBERNETES_VERSION) and the CRDs of
# the pinned operators (STRIMZI_APP_VERSION, FLINK_OPERATOR_CRD_VERSION, CNPG_APP_VERSION; versions.env), converted
# by tools/schemas/. tools/validate.py runs kubeconform with them.
SCHEMAS := $(BROOK_HOME)/schemas
SCHEMA_CACHE := $(BROOK_HOME)/cache/crds
# Strimzi's CRD generator needs Java 21+; the machine's default JDK may be 17.
JAVA21 ?= $(shell for j in $${JAVA21_HOME:-} /usr/lib/jvm/temurin-2[1-9]* /usr/lib/jvm/java-2[1-9]*; do [ -x "$$j/bin/java" ] && { echo $$j/bin/java; break; }; done)

$(SCHEMAS)/kubernetes/.v$(KUBERNETES_VERSION): tools/schemas/kubernetes_schemas.py | $(VENV)/app/.installed
	$(call say,Kubernetes v$(KUBERNETES_VERSION) JSON schemas (kubernetes-validate) into $(SCHEMAS)/kubernetes)
	rm -rf $(SCHEMAS)/kubernetes
	$(PY) -m tools.schemas.kubernetes_schemas $(KUBERNETES_VERSION) $(SCHEMAS)/kubernetes
	touch $@

# The Strimzi kinds the chart renders (model class=file): part of the stamp's name, so adding one regenerates.
STRIMZI_KINDS := kafka.Kafka=kafka nodepool.KafkaNodePool=kafkanodepool topic.KafkaTopic=kafkatopic \
	user.KafkaUser=kafkauser connect.KafkaConnect=kafkaconnect connector.KafkaConnector=kafkaconnector
STRIMZI_STAMP := $(SCHEMA_CACHE)/strimzi/.$(STRIMZI_APP_VERSION)-$(words $(STRIMZI_KINDS))kinds

$(STRIMZI_STAMP): tools/schemas/strimzi/pom.xml
	$(call say,generating Strimzi $(STRIMZI_APP_VERSION) CRDs from io.strimzi:api + crd-generator (Maven Central))
	@[ -n "$(JAVA21)" ] || { echo "Strimzi's CRD generator needs Java 21+: install one or set JAVA21_HOME" >&2; exit 1; }
	rm -rf $(SCHEMA_CACHE)/strimzi && mkdir -p $(SCHEMA_CACHE)/strimzi/lib
	mvn -q -B -f tools/schemas/strimzi/pom.xml -DSTRIMZI_APP_VERSION=$(STRIMZI_APP_VERSION) \
		dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(SCHEMA_CACHE)/strimzi/lib
	$(JAVA21) -cp '$(SCHEMA_CACHE)/strimzi/lib/*' io.strimzi.crdgenerator.CrdGenerator --yaml --crd-api-version v1 \
	  $(foreach k,$(STRIMZI_KINDS),io.strimzi.api.kafka.model.$(firstword $(subst =, ,$(k)))=$(SCHEMA_CACHE)/strimzi/$(lastword $(subst =, ,$(k))).yaml)
	touch $@

$(SCHEMA_CACHE)/flink-operator/.$(FLINK_OPERATOR_CRD_VERSION): tools/schemas/flink-operator/pom.xml
	$(call say,Flink Kubernetes Operator $(FLINK_OPERATOR_CRD_VERSION) CRDs from its API jar (Maven Central))
	rm -rf $(SCHEMA_CACHE)/flink-operator && mkdir -p $(SCHEMA_CACHE)/flink-operator/lib
	mvn -q -B -f tools/schemas/flink-operator/pom.xml -DFLINK_OPERATOR_CRD_VERSION=$(FLINK_OPERATOR_CRD_VERSION) \
		dependency:copy-dependencies -DexcludeTransitive=true -DoutputDirectory=$(SCHEMA_CACHE)/flink-operator/lib
	cd $(SCHEMA_CACHE)/flink-operator && unzip -q -j -o lib/flink-kubernetes-operator-api-*.jar 'META-INF/fabric8/*-v1.yml'
	touch $@

$(SCHEMA_CACHE)/cnpg/.v$(CNPG_APP_VERSION):
	$(call say,CloudNativePG v$(CNPG_APP_VERSION) CRDs from its Go module)
	rm -rf $(SCHEMA_CACHE)/cnpg && mkdir -p $(SCHEMA_CACHE)/cnpg
	dir=$$(cd $(SCHEMA_CACHE)/cnpg && GOFLAGS=-mod=mod $(GO) mod download -json github.com/cloudnative-pg/cloudnative-pg@v$(CNPG_APP_VERSION) | $(PY) -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'); \
	  cp $$dir/config/crd/bases/*.yaml $(SCHEMA_CACHE)/cnpg/
	touch $@

CRD_SOURCES := $(STRIMZI_STAMP) $(SCHEMA_CACHE)/flink-operator/.$(FLINK_OPERATOR_CRD_VERSION) \
	$(SCHEMA_CACHE)/cnpg/.v$(CNPG_APP_VERSION)
$(SCHEMAS)/crds/.stamp: $(CRD_SOURCES) tools/schemas/crd_to_jsonschema.py | $(VENV)/app/.installed
	$(call say,converting CRDs to kubeconform JSON schemas in $(SCHEMAS)/crds)
	rm -rf $(SCHEMAS)/crds
	$(PY) -m tools.schemas.crd_to_jsonschema $(SCHEMAS)/crds $(SCHEMA_CACHE)/strimzi/*.yaml $(SCHEMA_CACHE)/flink-operator/*.yml $(SCHEMA_CACHE)/cnpg/*.yaml
	printf 'Strimzi %s (io.strimzi:crd-generator)\nFlink Kubernetes Operator %s CRDs (operator API jar)\nCloudNativePG v%s (Go module config/crd/bases)\nKubernetes v%s (kubernetes-validate)\n' \
	  $(STRIMZI_APP_VERSION) $(FLINK_OPERATOR_CRD_VERSION) $(CNPG_APP_VERSION) $(KUBERNETES_VERSION) > $(SCHEMAS)/SOURCES
	touch $@

.PHONY: schemas
schemas: $(SCHEMAS)/kubernetes/.v$(KUBERNETES_VERSION) $(SCHEMAS)/crds/.stamp ## kubeconform schemas: Kubernetes + Strimzi, Flink operator, CNPG CRDs
