# Postgres backups (docs/backups.md). Locally: WAL archiving and base backups of the local Postgres into the local
# MinIO with Barman's cloud tools (Debian's barman-cli-cloud), jobs/local/backup.py. In Kubernetes: the CRD schemas
# kubeconform validates the chart's backup resources against (Barman Cloud plugin ObjectStore, PrometheusRule), and
# the PodMonitor of templates/monitoring.yaml (docs/metrics.md).
BARMAN_CLOUD_BACKUP := /usr/bin/barman-cloud-backup
TARGET_TIME ?=
RESTORE_PORT ?=
RESTART ?=
# Pinned by the require lines of tools/backup_crds/go.mod (read by awk, as mk/k8s-api.mk does).
BACKUP_CRDS_MOD := tools/backup_crds
BARMAN_PLUGIN_VERSION := $(shell awk '$$1=="github.com/cloudnative-pg/plugin-barman-cloud"{print $$2; exit}' $(BACKUP_CRDS_MOD)/go.mod)
PROMETHEUS_OPERATOR_VERSION := $(shell awk '$$1=="github.com/prometheus-operator/prometheus-operator"{print $$2; exit}' $(BACKUP_CRDS_MOD)/go.mod)
BACKUP_CRDS_STAMP := $(SCHEMAS)/crds/barmancloud.cnpg.io/.$(BARMAN_PLUGIN_VERSION)-$(PROMETHEUS_OPERATOR_VERSION)-podmonitors

.PHONY: backup-tools backup-schemas backup restore backup-status backup-list
backup-tools: ## Barman's cloud tools (Debian barman-cli-cloud: barman-cloud-wal-archive, -backup, -restore), if missing
	@if [ -x $(BARMAN_CLOUD_BACKUP) ]; then echo "barman-cloud: $$($(BARMAN_CLOUD_BACKUP) --version 2>&1)"; \
	else printf '\033[1;34m==> %s\033[0m\n' "installing barman-cli-cloud from Debian packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends barman-cli-cloud >/dev/null; \
	fi

# After the CRD conversion of mk/schemas.mk (which empties $(SCHEMAS)/crds): added next to its output.
$(BACKUP_CRDS_STAMP): $(BACKUP_CRDS_MOD)/go.mod $(SCHEMAS)/crds/.stamp | $(VENV)/app/.installed
	$(call say,Barman Cloud plugin $(BARMAN_PLUGIN_VERSION) and Prometheus Operator $(PROMETHEUS_OPERATOR_VERSION) CRDs from their Go modules)
	rm -rf $(SCHEMA_CACHE)/backup && mkdir -p $(SCHEMA_CACHE)/backup
	cd $(SCHEMA_CACHE)/backup && \
	plugin=$$(GOFLAGS=-mod=mod $(GO) mod download -json github.com/cloudnative-pg/plugin-barman-cloud@$(BARMAN_PLUGIN_VERSION) | $(PY) -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') && \
	prom=$$(GOFLAGS=-mod=mod $(GO) mod download -json github.com/prometheus-operator/prometheus-operator@$(PROMETHEUS_OPERATOR_VERSION) | $(PY) -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') && \
	cp $$plugin/config/crd/bases/barmancloud.cnpg.io_objectstores.yaml \
	  $(foreach k,prometheusrules podmonitors,$$prom/example/prometheus-operator-crd/monitoring.coreos.com_$(k).yaml) .
	$(PY) -m tools.schemas.crd_to_jsonschema $(SCHEMAS)/crds $(SCHEMA_CACHE)/backup/*.yaml
	printf 'Barman Cloud plugin %s (Go module config/crd/bases)\nPrometheus Operator %s PrometheusRule, PodMonitor (Go module example/prometheus-operator-crd)\n' \
	  $(BARMAN_PLUGIN_VERSION) $(PROMETHEUS_OPERATOR_VERSION) >> $(SCHEMAS)/SOURCES
	touch $@

backup-schemas: $(BACKUP_CRDS_STAMP) ## kubeconform schemas of the chart's backup resources (ObjectStore, PrometheusRule)

# Part of `make setup` (schemas and the tools the restore drill of `make test` runs).
schemas: backup-schemas
setup: backup-tools

backup: $(VENV)/app/.installed backup-tools ## base backup of the local Postgres into MinIO (first time: RESTART=1 restarts Postgres once to turn archive_mode on)
	$(PY) -m jobs.local.backup backup $(if $(RESTART),--restart)

restore: $(VENV)/app/.installed backup-tools ## restore TARGET_TIME='2026-11-27 20:30:00+00' (default: latest) into a fresh data dir, started on RESTORE_PORT (default 15433)
	$(PY) -m jobs.local.backup restore $(if $(TARGET_TIME),--target-time '$(TARGET_TIME)') $(if $(RESTORE_PORT),--port $(RESTORE_PORT))

backup-status: $(VENV)/app/.installed ## WAL archiver state of the local Postgres (exit 1 while archiving fails)
	$(PY) -m jobs.local.backup status

backup-list: $(VENV)/app/.installed backup-tools ## base backups in the local MinIO
	$(PY) -m jobs.local.backup list
