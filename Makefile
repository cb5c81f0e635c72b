# Brook — the user's verbs. Each concern lives in mk/<concern>.mk; everything installed goes under .brook/.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

BROOK_HOME ?= $(CURDIR)/.brook
export BROOK_HOME
VENV := $(BROOK_HOME)/venv
UV := $(VENV)/uv/bin/uv
PY := $(VENV)/app/bin/python
AIRFLOW_PY := $(VENV)/airflow/bin/python
BIN := $(BROOK_HOME)/bin
say = @printf '\033[1;34m==> %s\033[0m\n' "$(1)"

# Targets defined by the concern files, so verbs can depend on optional concerns only where they exist.
AVAILABLE_TARGETS := $(shell sed -n 's/^\([a-z-][a-z-]*\):.*/\1/p' $(wildcard mk/*.mk))
include mk/python.mk
include $(sort $(filter-out mk/python.mk mk/verbs.mk,$(wildcard mk/*.mk)))
include mk/verbs.mk

.PHONY: help
help: ## list the verbs
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'
