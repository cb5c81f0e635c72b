# Kubernetes on kind: Brook's three images, the operators (operators/), Brook's chart through skaffold.
# The user's machine needs docker, kind and kubectl (checked: a missing one is named). helm is Brook's own
# (.brook/bin/helm, mk/tools.mk); skaffold is built here from its Go module (dev/skaffold) into .brook/bin.
# Guide: docs/kubernetes.md.
include operators/versions.env

KIND_CLUSTER ?= brook
KIND_CONTEXT := kind-$(KIND_CLUSTER)
KIND_CONFIG := k8s/kind-cluster.yaml
K8S_NAMESPACE := brook
OPERATORS_NAMESPACE := brook-operators
# Context for `make operators`; empty = kubectl's current context (`make up` passes the kind cluster's).
OPERATORS_CONTEXT ?=
K8S_HELM := $(BIN)/helm
SKAFFOLD := $(BIN)/skaffold
SKAFFOLD_VERSION := $(shell sed -n 's:^\s*github.com/GoogleContainerTools/skaffold/v2 \(v[0-9.]*\).*:\1:p' dev/skaffold/go.mod)
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
HADOLINT := $(firstword $(wildcard $(BIN)/hadolint) $(VENV)/app/bin/hadolint)
DOCKERFILES := $(sort $(wildcard images/*/Dockerfile))
# skaffold runs helm, kubectl, kind and docker from PATH: Brook's helm first.
K8S_ENV := PATH="$(BIN):$$PATH"

# $(call k8s_require,tool...): fail naming every tool missing from PATH, and the docker daemon if it is down.
define k8s_require
	@missing=""; for tool in $(1); do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make $(or $(MAKECMDGOALS),$@): not found on PATH:$$missing. Install it (versions: docs/kubernetes.md#prerequisites)." >&2; exit 1; fi
	$(if $(filter docker,$(1)),@docker info >/dev/null 2>&1 || { echo "make $(or $(MAKECMDGOALS),$@): docker is installed but its daemon is not reachable (is Docker running?)" >&2; exit 1; })
endef

operator_helm = $(K8S_HELM) upgrade --install $(1) $($(2)_CHART) --repo $($(2)_CHART_REPO) --version $($(2)_CHART_VERSION) \
	--namespace $(OPERATORS_NAMESPACE) --create-namespace -f operators/values-$($(2)_CHART).yaml --wait --timeout 10m \
	$(if $(OPERATORS_CONTEXT),--kube-context $(OPERATORS_CONTEXT))

.PHONY: skaffold k8s-helm operators kind-cluster up dev down ui k8s-manifests docker-lint image-locks image-checksums

$(SKAFFOLD): dev/skaffold/go.mod dev/skaffold/go.sum
	$(call say,building skaffold $(SKAFFOLD_VERSION) from its Go module (dev/skaffold) into $(SKAFFOLD))
	@mkdir -p $(BIN)
	cd dev/skaffold && GOFLAGS=-mod=readonly $(GO) build -trimpath -o $(SKAFFOLD).tmp \
		-ldflags "-s -w -X github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/version.version=$(SKAFFOLD_VERSION)" \
		github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold
	mv $(SKAFFOLD).tmp $@

skaffold: $(SKAFFOLD) ## skaffold CLI, pinned in dev/skaffold/go.mod, built into .brook/bin

# Only helm of mk/tools.mk (not minio): its stamp's name is known once every mk/*.mk is read, i.e. in a recipe.
k8s-helm:
	@$(if $(HELM_VERSION),$(MAKE) $(BIN)/.helm-$(HELM_VERSION),echo "mk/tools.mk (helm) is missing" >&2; exit 1)

operators: ## install Strimzi, Flink operator, CloudNativePG (operators/) with helm into the current kube context
	$(call k8s_require,kubectl)
	@$(MAKE) k8s-helm
	$(call say,operators into namespace $(OPERATORS_NAMESPACE) of context $(or $(OPERATORS_CONTEXT),$$(kubectl config current-context)))
	kubectl $(if $(OPERATORS_CONTEXT),--context $(OPERATORS_CONTEXT)) apply -f k8s/namespace.yaml
	$(call say,Strimzi $(STRIMZI_CHART_VERSION))
	$(call operator_helm,strimzi,STRIMZI)
	$(call say,Flink Kubernetes Operator $(FLINK_OPERATOR_CHART_VERSION))
	$(call operator_helm,flink-operator,FLINK_OPERATOR)
	$(call say,CloudNativePG $(CNPG_APP_VERSION) (chart $(CNPG_CHART_VERSION)))
	$(call operator_helm,cnpg,CNPG)

kind-cluster:
	$(call k8s_require,docker kind kubectl)
	@$(MAKE) skaffold k8s-helm
	@if kind get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)'; then echo "kind cluster $(KIND_CLUSTER): exists"; \
	else printf '\033[1;34m==> %s\033[0m\n' "kind create cluster $(KIND_CLUSTER) ($(KIND_CONFIG))"; \
	  kind create cluster --name $(KIND_CLUSTER) --config $(KIND_CONFIG) --wait 5m; fi
	$(MAKE) operators OPERATORS_CONTEXT=$(KIND_CONTEXT)

up: kind-cluster ## kind cluster `brook` (if absent) + namespaces + operators + skaffold run (build, kind load, helm)
	$(call say,skaffold run (context $(KIND_CONTEXT)))
	$(K8S_ENV) $(SKAFFOLD) run --kube-context $(KIND_CONTEXT) --status-check=true
	@echo "Brook is up in namespace $(K8S_NAMESPACE). UIs and credentials: make ui"

dev: kind-cluster ## like up, then skaffold dev: rebuild + redeploy on change, DAG edits synced into Airflow
	$(K8S_ENV) $(SKAFFOLD) dev -p dev --kube-context $(KIND_CONTEXT)

down: ## delete the kind cluster `brook` (everything in it goes)
	$(call k8s_require,kind)
	kind delete cluster --name $(KIND_CLUSTER)

ui: $(VENV)/app/.installed ## port-forward the Flink, Airflow, MinIO, Kafka UI, pgAdmin UIs; print URLs and credential Secrets
	$(call k8s_require,kubectl)
	$(PY) dev/k8s/ui.py --context $(KIND_CONTEXT) --namespace $(K8S_NAMESPACE)

k8s-manifests: $(VENV)/app/.installed k8s-helm ## regenerate k8s/flink/*.yaml (one FlinkDeployment per job) from charts/brook
	$(call say,rendering the FlinkDeployments of charts/brook (values-kind.yaml) into k8s/flink/)
	$(PY) dev/k8s/render_flink.py --helm $(K8S_HELM)

docker-lint: $(VENV)/app/.installed ## hadolint on every Dockerfile (images/*/Dockerfile)
	$(call say,hadolint $(DOCKERFILES))
	$(HADOLINT) $(DOCKERFILES)

image-locks: | $(UV) ## re-resolve images/{app,flink-job}/requirements.lock at requirements/app.lock's versions
	$(UV) pip compile --quiet --generate-hashes --python-version 3.11 -c requirements/app.lock \
		images/app/requirements.in -o images/app/requirements.lock
	$(UV) pip compile --quiet --generate-hashes --python-version 3.11 -c requirements/app.lock \
		--no-emit-package apache-flink-libraries images/flink-job/requirements.in -o images/flink-job/requirements.lock

image-checksums: flink-jars ## rewrite images/flink-job/jars.sha256 from the jars `make flink-jars` fetched (dev/flink/pom.xml)
	cd $(FLINK_JARS) && sha256sum *.jar > $(CURDIR)/images/flink-job/jars.sha256
	cat images/flink-job/jars.sha256
