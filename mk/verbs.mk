# The top-level verbs: setup, test, lint, clean. Each concern's own targets live in its mk/<concern>.mk.
PYTEST_ARGS ?=
MARKERS ?= (unit or integration or charts or e2e or faults or k8s_api) and not upstream

# Every prerequisite a fresh machine needs; each one is idempotent (stamp files) and cached under $(BROOK_HOME).
SETUP_TARGETS := python kafka-jars postgres-server flink-jars skaffold tools schemas k8s-api-bin chromium dbt-venv superset-venv connect-jars flink-s3-plugin prometheus-bin

.PHONY: setup test lint clean
setup: ## install everything (venvs, Kafka jars, Postgres, MinIO, helm, kubeconform, skaffold, CRD schemas, Flink jars)
	@start=$$(date +%s); $(MAKE) $(SETUP_TARGETS); echo "setup done in $$(( $$(date +%s) - start ))s"

test: setup ## setup + the whole suite (unit, integration on real services, charts, e2e)
	$(call say,pytest -m '$(MARKERS)')
	rc=0; $(PY) -m pytest -m '$(MARKERS)' $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; exit 1; fi; exit $$rc

lint: $(VENV)/app/.installed ## ruff check + format, helm lint (chart-lint), hadolint (docker-lint)
	$(VENV)/app/bin/ruff check .
	$(VENV)/app/bin/ruff format --check .
	$(MAKE) chart-lint
	$(MAKE) docker-lint

clean: services-down ## stop services and delete $BROOK_HOME (caches in ~/.cache/brook, ~/.m2 and Go's cache stay)
	rm -rf $(BROOK_HOME)
