# Local services on 127.0.0.1: Kafka (KRaft, Maven jars), PostgreSQL (Debian), MinIO (Go module; see mk/tools.mk).
# Kafka's version is KAFKA_VERSION (versions.env), the one the chart's Strimzi cluster runs too.
KAFKA_JARS := $(BROOK_HOME)/jars/kafka
KAFKA_POM := services/kafka/pom.xml

# Stamped with the version: a new KAFKA_VERSION re-fetches the jars, nothing else does (but an edited pom). Fetched
# aside, then swapped in, so a running broker keeps finding its jars.
$(KAFKA_JARS)/.kafka-$(KAFKA_VERSION): $(KAFKA_POM)
	$(call say,fetching the Kafka $(KAFKA_VERSION) broker jars from Maven Central into $(KAFKA_JARS))
	rm -rf $(KAFKA_JARS).tmp
	mvn -q -B -f $(KAFKA_POM) -DKAFKA_VERSION=$(KAFKA_VERSION) dependency:copy-dependencies -DincludeScope=runtime \
		-DoutputDirectory=$(KAFKA_JARS).tmp
	touch $(KAFKA_JARS).tmp/$(notdir $@)
	rm -rf $(KAFKA_JARS) && mv $(KAFKA_JARS).tmp $(KAFKA_JARS)

.PHONY: kafka-jars postgres-server services-up services-down services-status
kafka-jars: $(KAFKA_JARS)/.kafka-$(KAFKA_VERSION) ## Kafka broker jars (KAFKA_VERSION, services/kafka/pom.xml)

postgres-server: ## PostgreSQL server binaries from Debian, if missing
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then echo "postgres: $$(ls -d /usr/lib/postgresql/*/bin | tail -1)"; \
	else printf '\033[1;34m==> %s\033[0m\n' "installing PostgreSQL from Debian packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; \
	fi

services-up: $(VENV)/app/.installed kafka-jars postgres-server minio ## start Kafka, Postgres, MinIO on 127.0.0.1
	$(PY) -m jobs.local.services up

services-down: ## stop the local services (data kept under $BROOK_HOME/data)
	@if [ -x $(PY) ]; then $(PY) -m jobs.local.services down; fi

services-status: ## health of each local service
	$(PY) -m jobs.local.services status
