# Kubernetes on kind: the operators (operators/, pinned in versions.env), Brook's images and chart through skaffold.
# The user's machine needs docker, kind and kubectl (checked: a missing one is named). helm and skaffold are Brook's
# own ($(BIN), mk/tools.mk). Guide: docs/kubernetes.md.
KIND_CLUSTER ?= brook
KIND_CONTEXT := kind-$(KIND_CLUSTER)
KIND_CONFIG := k8s/kind-cluster.yaml
# kind's --image overrides every node's image: the Kubernetes version is versions.env's, not the config's.
KIND_NODE_IMAGE := kindest/node:v$(KUBERNETES_VERSION)@$(KIND_NODE_DIGEST)
K8S_NAMESPACE := brook
OPERATORS_NAMESPACE := brook-operators
# Context for `make operators`; empty = kubectl's current context (`make up` passes the kind cluster's).
OPERATORS_CONTEXT ?=
UPSTREAM_CHARTS := $(BROOK_HOME)/charts
# skaffold reads the versions (image build args, the chart's --set values) from its environment: versions.env,
# sourced. It runs helm, kubectl, kind and docker from PATH: Brook's helm first.
SKAFFOLD_RUN = set -a && . $(CURDIR)/versions.env && set +a && PATH="$(BIN):$$PATH" $(SKAFFOLD)

# $(call k8s_require,tool...): fail naming every tool missing from PATH, and the docker daemon if it is down.
define k8s_require
	@missing=""; for tool in $(1); do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make $(or $(MAKECMDGOALS),$@): not found on PATH:$$missing. Install it (versions: docs/kubernetes.md#prerequisites)." >&2; exit 1; fi
	$(if $(filter docker,$(1)),@docker info >/dev/null 2>&1 || { echo "make $(or $(MAKECMDGOALS),$@): docker is installed but its daemon is not reachable (is Docker running?)" >&2; exit 1; })
endef

# $(call operator_helm,release,PREFIX): install/upgrade one operator chart at its versions.env pin.
operator_helm = $(HELM) upgrade --install $(1) $($(2)_CHART) --repo $($(2)_CHART_REPO) --version $($(2)_CHART_VERSION) \
	--namespace $(OPERATORS_NAMESPACE) --create-namespace -f operators/values-$($(2)_CHART).yaml --wait --timeout 10m \
	$(if $(OPERATORS_CONTEXT),--kube-context $(OPERATORS_CONTEXT))

# $(call upstream_chart,PREFIX): unpack one official chart at its versions.env pin into $(UPSTREAM_CHARTS).
upstream_chart = rm -rf $(UPSTREAM_CHARTS)/$($(1)_CHART) && $(HELM) pull $($(1)_CHART) --repo $($(1)_CHART_REPO) \
	--version $($(1)_CHART_VERSION) --untar --untardir $(UPSTREAM_CHARTS)

.PHONY: operators kind-cluster up dev down ui k8s-manifests upstream-charts

operators: ## install Strimzi, Flink operator, CloudNativePG (operators/) with helm into the current kube context
	$(call k8s_require,kubectl)
	@$(MAKE) helm
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
	@$(MAKE) skaffold helm
	@if kind get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)'; then echo "kind cluster $(KIND_CLUSTER): exists"; \
	else printf '\033[1;34m==> %s\033[0m\n' "kind create cluster $(KIND_CLUSTER) ($(KIND_CONFIG), $(KIND_NODE_IMAGE))"; \
	  kind create cluster --name $(KIND_CLUSTER) --config $(KIND_CONFIG) --image $(KIND_NODE_IMAGE) --wait 5m; fi
	$(MAKE) operators OPERATORS_CONTEXT=$(KIND_CONTEXT)

up: kind-cluster ## kind cluster `brook` (if absent) + namespaces + operators + skaffold run (build, kind load, helm)
	$(call say,skaffold run (context $(KIND_CONTEXT)))
	$(SKAFFOLD_RUN) run --kube-context $(KIND_CONTEXT) --status-check=true
	@echo "Brook is up in namespace $(K8S_NAMESPACE). UIs and credentials: make ui"

dev: kind-cluster ## like up, then skaffold dev: rebuild + redeploy on change, DAG edits synced into Airflow
	$(SKAFFOLD_RUN) dev -p dev --kube-context $(KIND_CONTEXT)

down: ## delete the kind cluster `brook` (everything in it goes)
	$(call k8s_require,kind)
	kind delete cluster --name $(KIND_CLUSTER)

ui: $(VENV)/app/.installed ## port-forward the Flink, Airflow, MinIO, Kafka UI, pgAdmin UIs; print URLs and credential Secrets
	$(call k8s_require,kubectl)
	$(PY) -m tools.k8s.ui --context $(KIND_CONTEXT) --namespace $(K8S_NAMESPACE)

k8s-manifests: $(VENV)/app/.installed helm ## regenerate k8s/flink/*.yaml (one FlinkDeployment per job) from charts/brook
	$(call say,rendering the FlinkDeployments of charts/brook (values-kind.yaml, versions.env) into k8s/flink/)
	$(PY) -m tools.k8s.render_flink --helm $(HELM)

upstream-charts: helm ## unpack the operators' and Airflow's official charts into $BROOK_HOME/charts (needs their Helm repos)
	$(call say,helm pull the pinned official charts into $(UPSTREAM_CHARTS))
	@mkdir -p $(UPSTREAM_CHARTS)
	$(call upstream_chart,STRIMZI)
	$(call upstream_chart,FLINK_OPERATOR)
	$(call upstream_chart,CNPG)
	$(call upstream_chart,AIRFLOW)
