# The top-level verbs: setup, test, lint, clean. Each concern's own targets live in its mk/<concern>.mk.
PYTEST_ARGS ?=
MARKERS ?= (unit or integration or charts or e2e) and not upstream

# Every prerequisite a fresh machine needs; each one is idempotent (stamp files) and cached under .brook/.
SETUP_TARGETS := python kafka-jars postgres-server $(filter tools schemas flink-jars skaffold,$(AVAILABLE_TARGETS))

.PHONY: setup test lint clean
setup: ## install everything (venvs, Kafka jars, Postgres, MinIO, helm, kubeconform, skaffold, CRD schemas, Flink jars)
	@start=$$(date +%s); $(MAKE) $(SETUP_TARGETS); echo "setup done in $$(( $$(date +%s) - start ))s"

test: setup ## setup + the whole suite (unit, integration on real services, charts, e2e)
	$(call say,pytest -m '$(MARKERS)')
	rc=0; $(PY) -m pytest -m '$(MARKERS)' $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; exit 1; fi; exit $$rc

lint: $(VENV)/app/.installed ## ruff (+ helm lint and hadolint via chart-lint when present)
	$(VENV)/app/bin/ruff check .
	$(VENV)/app/bin/ruff format --check .
	$(if $(filter chart-lint,$(AVAILABLE_TARGETS)),$(MAKE) chart-lint)
	$(if $(filter docker-lint,$(AVAILABLE_TARGETS)),$(MAKE) docker-lint)

clean: services-down ## stop services and delete .brook (caches in ~/.cache/brook, ~/.m2 and Go's cache stay)
	rm -rf $(BROOK_HOME)
