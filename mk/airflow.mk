# Airflow smoke check: parse Brook's DAG folder (jobs/dags) the way the dag processor does, with the pinned Airflow
# from $(BROOK_HOME)/venv/airflow and a throwaway SQLite metadata DB of its own (never the shared Postgres).
AIRFLOW_CHECK_HOME ?= $(BROOK_HOME)/airflow
AIRFLOW_DAGS := $(CURDIR)/jobs/dags
AIRFLOW_CLI := $(VENV)/airflow/bin/airflow
AIRFLOW_CHECK_ENV = AIRFLOW_HOME=$(AIRFLOW_CHECK_HOME) AIRFLOW__CORE__DAGS_FOLDER=$(AIRFLOW_DAGS) \
	AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///$(AIRFLOW_CHECK_HOME)/airflow.db

LOG_NOISE := '^[0-9T:.-]*Z \[\|graphviz'

.PHONY: airflow-check
airflow-check: $(VENV)/airflow/.installed ## Airflow: db migrate (own SQLite), parse jobs/dags: no import errors, bets_export listed
	$(call say,airflow db migrate + dags reserialize ($(AIRFLOW_DAGS)) in $(AIRFLOW_CHECK_HOME))
	@mkdir -p $(AIRFLOW_CHECK_HOME)
	@$(AIRFLOW_CHECK_ENV) $(AIRFLOW_CLI) db migrate >$(AIRFLOW_CHECK_HOME)/check.log 2>&1 \
		|| { tail -20 $(AIRFLOW_CHECK_HOME)/check.log; exit 1; }
	@$(AIRFLOW_CHECK_ENV) $(AIRFLOW_CLI) dags reserialize >>$(AIRFLOW_CHECK_HOME)/check.log 2>&1 \
		|| { tail -20 $(AIRFLOW_CHECK_HOME)/check.log; exit 1; }
	$(call say,airflow dags list-import-errors)
	@rc=0; $(AIRFLOW_CHECK_ENV) $(AIRFLOW_CLI) dags list-import-errors -o plain >$(AIRFLOW_CHECK_HOME)/errors.txt 2>/dev/null \
		|| rc=$$?; grep -v $(LOG_NOISE) $(AIRFLOW_CHECK_HOME)/errors.txt || true; \
		[ $$rc -eq 0 ] || { echo "airflow-check: import errors in $(AIRFLOW_DAGS) (above)" >&2; exit 1; }
	$(call say,airflow dags list)
	@$(AIRFLOW_CHECK_ENV) $(AIRFLOW_CLI) dags list -o plain --columns dag_id,fileloc 2>/dev/null \
		| grep -v $(LOG_NOISE) | tee $(AIRFLOW_CHECK_HOME)/dags.txt
	@grep -q '^bets_export ' $(AIRFLOW_CHECK_HOME)/dags.txt || { echo "airflow-check: bets_export is not listed" >&2; exit 1; }

# Local Airflow (jobs/local/airflow.py): api-server, scheduler, dag-processor of the same venv in the background, the
# metadata in a database of its own in the local Postgres, every task run by the local runner (BROOK_AIRFLOW_RUNNER=
# local: `python -m <job>` in the app venv on the local services). docs/airflow.md.
AIRFLOW_PORT ?= 8080

.PHONY: airflow airflow-down airflow-status
airflow: $(VENV)/app/.installed $(VENV)/airflow/.installed ## Airflow UI on 127.0.0.1:8080 (AIRFLOW_PORT) running Brook's DAGs locally (after services-up)
	$(PY) -m jobs.local.airflow up --port $(AIRFLOW_PORT)

airflow-down: ## stop the local Airflow (services-down does too)
	@if [ -x $(PY) ]; then $(PY) -m jobs.local.airflow down; fi

airflow-status: ## health of the local Airflow
	$(PY) -m jobs.local.airflow status --port $(AIRFLOW_PORT)

# Debian's chromium + its matching chromedriver for the headless-browser test of the local Airflow UI
# (tests/integration/test_airflow_local.py, driven by selenium from the app venv). Installed once with apt, if
# missing; the stamp records the versions found.
CHROMIUM_STAMP := $(BROOK_HOME)/cache/chromium.version

.PHONY: chromium
chromium: $(CHROMIUM_STAMP) ## Debian chromium + chromium-driver (headless Airflow UI test), apt-installed if missing

$(CHROMIUM_STAMP):
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	else printf '\033[1;34m==> %s\033[0m\n' "installing chromium + chromium-driver from Debian packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver >/dev/null; \
	fi
	@mkdir -p $(dir $@)
	@{ chromium --version; chromedriver --version; } 2>/dev/null | tee $@
