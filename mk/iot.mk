# The IoT CDC pipeline (seed 003, docs/iot.md): simulator → Postgres (wal_level=logical) → Debezium on Kafka Connect
# → Kafka → PyFlink windows → Postgres analytics → audit. The Connect worker runs from the Maven jars of the pinned
# Kafka (KAFKA_VERSION), the Debezium Postgres plugin from DEBEZIUM_VERSION; both fetched aside, then swapped in.
CONNECT_JARS := $(BROOK_HOME)/jars/connect
CONNECT_PLUGINS := $(BROOK_HOME)/connect-plugins
DEBEZIUM_PLUGIN := $(CONNECT_PLUGINS)/debezium-connector-postgres
IOT_DEVICES ?= 12
IOT_MINUTES ?= 10

$(CONNECT_JARS)/.connect-$(KAFKA_VERSION): services/connect/pom.xml
	$(call say,fetching the Kafka Connect $(KAFKA_VERSION) worker jars from Maven Central into $(CONNECT_JARS))
	rm -rf $(CONNECT_JARS).tmp
	mvn -q -B -f services/connect/pom.xml -DKAFKA_VERSION=$(KAFKA_VERSION) dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory=$(CONNECT_JARS).tmp
	touch $(CONNECT_JARS).tmp/$(notdir $@)
	rm -rf $(CONNECT_JARS) && mv $(CONNECT_JARS).tmp $(CONNECT_JARS)

# The worker provides the Kafka and SLF4J APIs (Connect loads them parent-first): the plugin folder holds the rest.
$(DEBEZIUM_PLUGIN)/.debezium-$(DEBEZIUM_VERSION): services/connect/debezium/pom.xml
	$(call say,fetching the Debezium $(DEBEZIUM_VERSION) Postgres connector plugin into $(DEBEZIUM_PLUGIN))
	rm -rf $(DEBEZIUM_PLUGIN).tmp
	mvn -q -B -f services/connect/debezium/pom.xml -DDEBEZIUM_VERSION=$(DEBEZIUM_VERSION) \
		dependency:copy-dependencies -DincludeScope=runtime -DexcludeGroupIds=org.apache.kafka,org.slf4j \
		-DoutputDirectory=$(DEBEZIUM_PLUGIN).tmp
	touch $(DEBEZIUM_PLUGIN).tmp/$(notdir $@)
	rm -rf $(DEBEZIUM_PLUGIN) && mkdir -p $(CONNECT_PLUGINS) && mv $(DEBEZIUM_PLUGIN).tmp $(DEBEZIUM_PLUGIN)

.PHONY: connect-jars connect-up connect-down demo-iot
connect-jars: $(CONNECT_JARS)/.connect-$(KAFKA_VERSION) $(DEBEZIUM_PLUGIN)/.debezium-$(DEBEZIUM_VERSION) ## Kafka Connect worker jars (KAFKA_VERSION) + Debezium Postgres plugin (DEBEZIUM_VERSION)

connect-up: $(VENV)/app/.installed kafka-jars connect-jars ## start the local Kafka Connect worker (distributed, for the IoT pipeline) on the local Kafka
	$(PY) -m jobs.local.iot_connect up

connect-down: ## stop the local Kafka Connect worker (its offsets stay in Kafka)
	@if [ -x $(PY) ]; then $(PY) -m jobs.local.iot_connect down; fi

demo-iot: $(VENV)/app/.installed kafka-jars postgres-server connect-jars flink-jars ## IoT CDC end to end: simulate → Debezium → Flink windows → audit (IOT_DEVICES=12 IOT_MINUTES=10 SEED=2026)
	$(call say,IoT demo: $(IOT_DEVICES) devices, $(IOT_MINUTES) minutes)
	$(PY) -m jobs.local.iot_demo --devices $(IOT_DEVICES) --minutes $(IOT_MINUTES) --seed $(SEED)
