# Flink connector jars for PyFlink's local mini-cluster (the runtime comes with PyPI's apache-flink).
# The versions live in dev/flink/pom.xml only; the Flink job image reads them from there too (FLINK_POM_VERSIONS).
FLINK_JARS := $(BROOK_HOME)/jars/flink
FLINK_POM := dev/flink/pom.xml
pom_property = $(shell sed -n 's:.*<$(1)>\(.*\)</$(1)>.*:\1:p' $(FLINK_POM))
FLINK_VERSION := $(call pom_property,flink.version)
FLINK_KAFKA_CONNECTOR_VERSION := $(call pom_property,kafka.connector.version)
FLINK_JDBC_CONNECTOR_VERSION := $(call pom_property,jdbc.connector.version)
POSTGRES_JDBC_VERSION := $(call pom_property,postgres.jdbc.version)

$(FLINK_JARS)/.installed: $(FLINK_POM)
	$(call say,fetching Flink connector jars (Kafka $(FLINK_KAFKA_CONNECTOR_VERSION), JDBC $(FLINK_JDBC_CONNECTOR_VERSION), PostgreSQL $(POSTGRES_JDBC_VERSION)) into $(FLINK_JARS))
	rm -rf $(FLINK_JARS)
	mvn -q -B -f $(FLINK_POM) dependency:copy-dependencies -DexcludeTransitive=true -DoutputDirectory=$(FLINK_JARS)
	touch $@

.PHONY: flink-jars flink-versions
flink-jars: $(FLINK_JARS)/.installed ## Flink connector jars (pinned in dev/flink/pom.xml)

flink-versions: ## print the Flink/connector versions (used by skaffold/docker build args)
	@echo "FLINK_VERSION=$(FLINK_VERSION)"
	@echo "FLINK_KAFKA_CONNECTOR_VERSION=$(FLINK_KAFKA_CONNECTOR_VERSION)"
	@echo "FLINK_JDBC_CONNECTOR_VERSION=$(FLINK_JDBC_CONNECTOR_VERSION)"
	@echo "POSTGRES_JDBC_VERSION=$(POSTGRES_JDBC_VERSION)"
