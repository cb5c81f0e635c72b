# Local services on 127.0.0.1: Kafka (KRaft, Maven jars), PostgreSQL (Debian), MinIO (Go module; see mk/tools.mk).
KAFKA_JARS := $(BROOK_HOME)/jars/kafka

$(KAFKA_JARS)/.installed: dev/kafka/pom.xml
	$(call say,fetching the Kafka broker jars from Maven Central into $(KAFKA_JARS))
	rm -rf $(KAFKA_JARS)
	mvn -q -B -f dev/kafka/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(KAFKA_JARS)
	touch $@

.PHONY: kafka-jars postgres-server services-up services-down services-status
kafka-jars: $(KAFKA_JARS)/.installed ## Kafka broker jars (pinned in dev/kafka/pom.xml)

postgres-server: ## PostgreSQL server binaries from Debian, if missing
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then echo "postgres: $$(ls -d /usr/lib/postgresql/*/bin | tail -1)"; \
	else printf '\033[1;34m==> %s\033[0m\n' "installing PostgreSQL from Debian packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; \
	fi

services-up: $(VENV)/app/.installed kafka-jars postgres-server $(filter tools,$(AVAILABLE_TARGETS)) ## start Kafka, Postgres, MinIO on 127.0.0.1
	$(PY) -m jobs.local.services up

services-down: ## stop the local services (data kept under .brook/data)
	@if [ -x $(PY) ]; then $(PY) -m jobs.local.services down; fi

services-status: ## health of each local service
	$(PY) -m jobs.local.services status
