# The secured local Kafka broker (docs/security.md): SASL_SSL/SCRAM-SHA-512, a local CA, the chart's KafkaUsers and
# ACLs (rendered with helm), beside the plaintext broker on its own port. `BROOK_LOCAL_KAFKA_SECURED=true make
# services-up` does the same for the whole set of services.
.PHONY: kafka-secured-up kafka-secured-down kafka-secured-env kafka-acls-doc
kafka-secured-up: $(VENV)/app/.installed kafka-jars helm ## start the secured Kafka broker (SCRAM over TLS, chart ACLs)
	$(PY) -m jobs.local.services up kafka --secured

kafka-secured-down: ## stop the secured Kafka broker (its data is kept)
	@if [ -x $(PY) ]; then $(PY) -m jobs.local.services down kafka --secured; fi

kafka-secured-env: ## BROOK_KAFKA_* of one chart KafkaUser on the secured broker: make kafka-secured-env KAFKA_USER=brook-consumer
	$(PY) -m jobs.local.services env --secured --user $(KAFKA_USER)

kafka-acls-doc: ## regenerate docs/security.md's KafkaUser table from the chart
	$(PY) -m jobs.local.kafka_acls
