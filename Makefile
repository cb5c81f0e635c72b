# Brook — the user's verbs. Each concern lives in mk/<concern>.mk; every version in versions.env; everything
# installed goes under $(BROOK_HOME) (default .brook). `make help` lists the verbs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

include versions.env

BROOK_HOME ?= $(CURDIR)/.brook
export BROOK_HOME
VENV := $(BROOK_HOME)/venv
UV := $(VENV)/uv/bin/uv
PY := $(VENV)/app/bin/python
AIRFLOW_PY := $(VENV)/airflow/bin/python
BIN := $(BROOK_HOME)/bin
# Heavy builds (Go, buildah) take turns on this lock: two makes on one machine do not fight for its cores.
BUILD_LOCK := flock $(BROOK_HOME)/build.lock
HELM := $(BIN)/helm
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
say = @printf '\033[1;34m==> %s\033[0m\n' "$(1)"

include mk/python.mk
include mk/services.mk
include mk/tools.mk
include mk/schemas.mk
include mk/flink.mk
include mk/images.mk
include mk/images-local.mk
include mk/chart.mk
include mk/kind.mk
include mk/airflow.mk
include mk/superset.mk
include mk/pipeline.mk
include mk/telecom.mk
include mk/cinema.mk
include mk/iot.mk
include mk/behaviour.mk
include mk/ecommerce.mk
include mk/backup.mk
include mk/kafka-secured.mk
include mk/fuzz.mk
include mk/metrics.mk
include mk/k8s-api.mk
include mk/cluster.mk
include mk/cnpg.mk
include mk/verbs.mk

.PHONY: help
help: ## list the verbs
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'
