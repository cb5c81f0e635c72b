# Python environments: uv (bootstrap), app (jobs + PyFlink + tests), airflow (separate: conflicting pins).
# UV_VERSION: versions.env.
PYTHON ?= python3
export UV_CACHE_DIR ?= $(HOME)/.cache/brook/uv
# Byte code written at install, for every venv synced here: with PYTHONDONTWRITEBYTECODE=1 (set on this machine)
# and uv's default of writing none, each process compiled every module it imported from source (the airflow CLI
# 6.2-6.8 s → 2.7 s, the exporter's start 0.6-0.8 → 0.3 s: bench/results/2026-11-29-exporter-pandas.md). The stamps
# below depend on this file, so a venv synced before this line is compiled on the next make.
export UV_COMPILE_BYTECODE := 1

$(UV):
	$(call say,bootstrapping uv $(UV_VERSION) into $(VENV)/uv)
	$(PYTHON) -m venv $(VENV)/uv
	$(VENV)/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/app/.installed: requirements/app.lock pyproject.toml mk/python.mk | $(UV)
	$(call say,syncing $(VENV)/app from requirements/app.lock)
	[ -x $(PY) ] || $(UV) venv --quiet --python $(PYTHON) $(VENV)/app
	VIRTUAL_ENV=$(VENV)/app $(UV) pip sync --quiet requirements/app.lock
	VIRTUAL_ENV=$(VENV)/app $(UV) pip install --quiet --no-deps -e .
	touch $@

$(VENV)/airflow/.installed: requirements/airflow.lock mk/python.mk | $(UV)
	$(call say,syncing $(VENV)/airflow from requirements/airflow.lock)
	[ -x $(AIRFLOW_PY) ] || $(UV) venv --quiet --python $(PYTHON) $(VENV)/airflow
	VIRTUAL_ENV=$(VENV)/airflow $(UV) pip sync --quiet requirements/airflow.lock
	VIRTUAL_ENV=$(VENV)/airflow $(UV) pip install --quiet --no-deps -e .
	touch $@

.PHONY: python lock
python: $(VENV)/app/.installed $(VENV)/airflow/.installed ## create/sync the Python venvs from the lock files

lock: | $(UV) ## re-resolve requirements/*.in into the pinned requirements/*.lock
	$(UV) pip compile --quiet --generate-hashes --python-version 3.11 requirements/app.in -o requirements/app.lock
	$(UV) pip compile --quiet --generate-hashes --python-version 3.11 requirements/airflow.in -o requirements/airflow.lock
	$(UV) pip compile --quiet --generate-hashes --python-version 3.11 requirements/superset.in -o requirements/superset.lock
