# Results dashboards: Apache Superset in its own venv (requirements/superset.lock; its Flask-AppBuilder/SQLAlchemy 1.4
# pins conflict with the app and Airflow venvs), built like the dbt one. `make superset` (jobs/local/superset.py):
# gunicorn on 127.0.0.1, metadata in a database of its own in the local Postgres, SECRET_KEY and admin password
# generated under $(BROOK_HOME)/data/superset, dashboards imported from charts/brook/dashboards/superset.
# docs/dashboards.md.
SUPERSET_PY := $(VENV)/superset/bin/python
SUPERSET_PORT ?= 8088
SUPERSET_SCHEMA ?= demo

$(VENV)/superset/.installed: requirements/superset.lock mk/python.mk | $(UV)
	$(call say,syncing $(VENV)/superset from requirements/superset.lock)
	[ -x $(SUPERSET_PY) ] || $(UV) venv --quiet --python $(PYTHON) $(VENV)/superset
	VIRTUAL_ENV=$(VENV)/superset $(UV) pip sync --quiet requirements/superset.lock
	touch $@

.PHONY: superset-venv superset superset-stop superset-status
superset-venv: $(VENV)/superset/.installed ## the Superset venv (apache-superset, requirements/superset.lock) for the dashboards

superset: $(VENV)/app/.installed $(VENV)/superset/.installed ## Superset on 127.0.0.1:8088 (SUPERSET_PORT), dashboards as code on SUPERSET_SCHEMA=demo (after services-up)
	$(PY) -m jobs.local.superset up --port $(SUPERSET_PORT) --schema $(SUPERSET_SCHEMA)

superset-stop: ## stop the local Superset (services-down does too)
	@if [ -x $(PY) ]; then $(PY) -m jobs.local.superset down; fi

superset-status: ## health of the local Superset
	$(PY) -m jobs.local.superset status --port $(SUPERSET_PORT)
