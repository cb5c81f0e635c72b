# The cinema ELT pipeline (seed 004, docs/cinema.md): generator → OLTP Postgres → logical replication → warehouse
# Postgres → dbt marts → audit. dbt has its own venv (requirements/dbt.lock), built like the Airflow one.
VIEWERS ?= 40
DBT_PY := $(VENV)/dbt/bin/python

$(VENV)/dbt/.installed: requirements/dbt.lock mk/python.mk | $(UV)
	$(call say,syncing $(VENV)/dbt from requirements/dbt.lock)
	[ -x $(DBT_PY) ] || $(UV) venv --quiet --python $(PYTHON) $(VENV)/dbt
	VIRTUAL_ENV=$(VENV)/dbt $(UV) pip sync --quiet requirements/dbt.lock
	touch $@

.PHONY: dbt-venv dbt-lock demo-cinema
dbt-venv: $(VENV)/dbt/.installed ## the dbt venv (dbt-core + dbt-postgres, requirements/dbt.lock) for the cinema marts

dbt-lock: | $(UV) ## re-resolve requirements/dbt.in into the pinned requirements/dbt.lock
	$(UV) pip compile --quiet --generate-hashes --python-version 3.11 requirements/dbt.in -o requirements/dbt.lock

demo-cinema: $(VENV)/app/.installed $(VENV)/dbt/.installed postgres-server ## cinema ELT end to end: generate → replicate → dbt build → audit (VIEWERS=40 SEED=2026)
	$(call say,cinema demo: $(VIEWERS) viewers)
	$(PY) -m jobs.local.cinema_demo --viewers $(VIEWERS) --seed $(SEED)
