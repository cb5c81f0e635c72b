# Metrics (docs/metrics.md): Prometheus and promtool built from the Go module github.com/prometheus/prometheus,
# pinned in the wrapper module tools/prometheus/go.mod (like tools/k8s_api for the control plane). promtool runs the
# alert-rule unit tests (tests/unit/test_alert_rules.py); `make metrics` runs a Prometheus on 127.0.0.1 scraping the
# local jobs' endpoints. The stamp carries the version and depends on go.mod/go.sum: changing the pin rebuilds,
# nothing else does. Built without the `builtinassets` tag (the React UI comes from npm, not the Go module).
PROM_MOD := tools/prometheus
PROM_VERSION := $(shell awk '$$1=="github.com/prometheus/prometheus" && $$2~/^v/{print $$2; exit}' $(PROM_MOD)/go.mod)
PROM_STAMP := $(BIN)/.prometheus-$(PROM_VERSION)
PROMETHEUS := $(BIN)/prometheus
PROMTOOL := $(BIN)/promtool
PROM_VERSION_PKG := github.com/prometheus/common/version
PROM_LDFLAGS = -s -w -X $(PROM_VERSION_PKG).Version=$(PROM_VERSION) -X $(PROM_VERSION_PKG).Revision=module \
	-X $(PROM_VERSION_PKG).Branch=module
# Where `make metrics` keeps its generated config and TSDB, and where it listens.
METRICS_HOME := $(BROOK_HOME)/metrics
PROM_PORT ?= 9090

$(PROM_STAMP): $(PROM_MOD)/go.mod $(PROM_MOD)/go.sum
	$(call say,building prometheus and promtool $(PROM_VERSION) from their Go module ($(PROM_MOD)); minutes on a cold Go cache)
	@mkdir -p $(BIN)
	start=$$(date +%s); rm -rf $(BIN)/.prom-build-tmp && mkdir -p $(BIN)/.prom-build-tmp && \
	cd $(PROM_MOD) && GOFLAGS=-mod=readonly nice $(GO) build -trimpath -o $(BIN)/.prom-build-tmp/ -ldflags "$(PROM_LDFLAGS)" \
		github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool && \
	mv $(BIN)/.prom-build-tmp/prometheus $(BIN)/.prom-build-tmp/promtool $(BIN)/ && rm -rf $(BIN)/.prom-build-tmp && \
	echo "prometheus + promtool built in $$(( $$(date +%s) - start ))s: $(PROM_VERSION)"
	rm -f $(BIN)/.prometheus-* && touch $@

.PHONY: prometheus-bin metrics
prometheus-bin: $(PROM_STAMP) ## prometheus + promtool (tools/prometheus/go.mod) into $BROOK_HOME/bin

metrics: prometheus-bin $(VENV)/app/.installed ## Prometheus on 127.0.0.1:$PROM_PORT scraping the local jobs (BROOK_METRICS_PORT) with Brook's alert rules
	$(PY) -m jobs.local.prometheus_config --out $(METRICS_HOME)/prometheus.yml --prometheus 127.0.0.1:$(PROM_PORT)
	$(PROMTOOL) check config $(METRICS_HOME)/prometheus.yml
	$(call say,Prometheus on http://127.0.0.1:$(PROM_PORT) (API /api/v1/..., targets /api/v1/targets; Ctrl-C stops))
	exec $(PROMETHEUS) --config.file=$(METRICS_HOME)/prometheus.yml --storage.tsdb.path=$(METRICS_HOME)/data \
		--web.listen-address=127.0.0.1:$(PROM_PORT)
