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
# skaffold profiles for `make up` (skaffold.yaml), e.g. SKAFFOLD_PROFILES=smoke; empty = the default deployment.
SKAFFOLD_PROFILES ?=
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
	$(call say,skaffold run (context $(KIND_CONTEXT))$(if $(SKAFFOLD_PROFILES), profiles $(SKAFFOLD_PROFILES)))
	$(SKAFFOLD_RUN) run --kube-context $(KIND_CONTEXT) --status-check=true $(if $(SKAFFOLD_PROFILES),-p $(SKAFFOLD_PROFILES))
	@echo "Brook is up in namespace $(K8S_NAMESPACE). UIs and credentials: make ui"

dev: kind-cluster ## like up, then skaffold dev: rebuild + redeploy on change, DAG edits synced into Airflow
	$(SKAFFOLD_RUN) dev -p dev --kube-context $(KIND_CONTEXT)

down: ## delete the kind cluster `brook` (everything in it goes)
	$(call k8s_require,kind)
	kind delete cluster --name $(KIND_CLUSTER)

ui: $(VENV)/app/.installed ## port-forward every UI (Flink, Airflow, Superset, MinIO, Kafka UI, pgAdmin, Grafana); print URLs and logins
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

# --- Operating Brook in a cluster: Flink stop/start, one-shot Jobs, the in-cluster audit, the end-to-end smoke -------
# Context and namespace: the kind cluster's by default; K8S_CONTEXT=<context> for another cluster.
K8S_CONTEXT ?= $(KIND_CONTEXT)
KUBECTL_BROOK = kubectl --context $(K8S_CONTEXT) -n $(K8S_NAMESPACE)
PIPELINE ?= bets
# How long `make k8s-run`/`k8s-audit` wait for their Job (seconds).
K8S_JOB_TIMEOUT ?= 900
# k8s-smoke: events produced in-cluster, then how long to let the consumer, Flink and the exporter catch up.
SMOKE_EVENTS ?= 2000
SMOKE_SETTLE_SECONDS ?= 240
# k8s-smoke runs on its own kind cluster (a fresh topic: the audit checks Kafka holds exactly SMOKE_EVENTS).
SMOKE_CLUSTER ?= brook-smoke
SMOKE_AUDIT_ARGS ?= --produced $(SMOKE_EVENTS)

.PHONY: flink-suspend flink-resume k8s-run k8s-audit k8s-smoke

# The operator's way to stop and start a job (Flink Kubernetes Operator docs, "Job management"): job.state. With the
# chart's upgradeMode savepoint, suspended = cancel with a savepoint, running = restore from it. `kubectl delete`
# of a FlinkDeployment takes no savepoint and drops the job's state: a restart would re-read from committed offsets.
# A later `helm upgrade`/`make up` renders job.state from values: list a job in flink.suspended to keep it stopped.
flink_state = $(KUBECTL_BROOK) patch flinkdeployment $(JOB) --type merge -p '{"spec":{"job":{"state":"$(1)"}}}'
define flink_job_required
	@test -n "$(JOB)" || { echo "make $@: give JOB=<FlinkDeployment>, one of: $(KUBECTL_BROOK) get flinkdeployments" >&2; exit 1; }
endef

flink-suspend: ## suspend Flink job JOB=brook-<pipeline>-<job> with a savepoint (job.state: suspended; resume: flink-resume)
	$(call k8s_require,kubectl)
	$(flink_job_required)
	$(call flink_state,suspended)
	@echo "$(JOB): suspending (savepoint, then the job's pods go). Watch: $(KUBECTL_BROOK) get flinkdeployment $(JOB)"

flink-resume: ## resume Flink job JOB=brook-<pipeline>-<job> from its last savepoint (job.state: running)
	$(call k8s_require,kubectl)
	$(flink_job_required)
	$(call flink_state,running)
	@echo "$(JOB): resuming from its savepoint. Watch: $(KUBECTL_BROOK) get flinkdeployment $(JOB)"

# Words on stdin → a JSON patch appending each to the first container's args (ARGS hold no quotes or backslashes).
k8s_args_patch = awk 'BEGIN{printf "["} NF{printf "%s{\"op\":\"add\",\"path\":\"/spec/template/spec/containers/0/args/-\",\"value\":\"%s\"}", n++?",":"", $$0} END{printf "]"}'
# $(call k8s_job,CRONJOB,ARGS): a Job from the chart's suspended CronJob template CRONJOB, with ARGS appended to its
# command line; waits for it, prints its log, and succeeds only if the Job succeeded.
define k8s_job
	@set -e; job="$(1)-$$(date +%s)"; k="$(KUBECTL_BROOK)"; \
	printf '\033[1;34m==> %s\033[0m\n' "Job $$job from cronjob/$(1)$(if $(strip $(2)), with arguments: $(strip $(2)))"; \
	$$k create job "$$job" --from=cronjob/$(1) --dry-run=client -o json \
	  $(if $(strip $(2)),| $$k patch --local -f - --type json -o json -p "$$(printf '%s\n' $(2) | $(k8s_args_patch))") \
	  | $$k create -f -; \
	end=$$(( $$(date +%s) + $(K8S_JOB_TIMEOUT) )); state=""; \
	while [ -z "$$state" ]; do \
	  state=$$($$k get job "$$job" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{"\n"}{end}' | grep -xE 'Complete|Failed' || true); \
	  if [ -z "$$state" ] && [ $$(date +%s) -ge $$end ]; then state=Timeout; fi; \
	  [ -n "$$state" ] || sleep 5; \
	done; \
	$$k logs "job/$$job" --all-containers --tail=-1 || true; \
	echo "Job $$job: $$state"; [ "$$state" = Complete ]
endef

k8s-run: ## one-shot Job from a chart CronJob template: TASK=brook-<workload>-once|brook-audit-<pipeline> [ARGS='--count 100']
	$(call k8s_require,kubectl)
	@test -n "$(TASK)" || { echo "make k8s-run: give TASK=<CronJob>, one of: $(KUBECTL_BROOK) get cronjobs" >&2; exit 1; }
	$(call k8s_job,$(TASK),$(ARGS))

k8s-audit: ## the conservation audit inside the cluster (PIPELINE=bets|telecom, ARGS=...): prints the table, fails if it fails
	$(call k8s_require,kubectl)
	$(call k8s_job,brook-audit-$(PIPELINE),$(ARGS))

# End to end on a machine with Docker (docs/kubernetes.md "make k8s-smoke"; .github/workflows/kind-e2e.yml): a kind
# cluster of its own, Brook without the demo producer (skaffold profile smoke), SMOKE_EVENTS bets produced by one
# in-cluster Job, time for the consumer, Flink and the exporter to catch up, then the in-cluster audit, which must pass.
k8s-smoke: ## kind end to end: make up (own cluster, profile smoke), SMOKE_EVENTS events in-cluster, settle, audit must pass
	$(call k8s_require,docker kind kubectl)
	$(MAKE) up KIND_CLUSTER=$(SMOKE_CLUSTER) SKAFFOLD_PROFILES=smoke
	$(MAKE) k8s-smoke-run K8S_CONTEXT=kind-$(SMOKE_CLUSTER)
	@echo "k8s-smoke passed. The cluster stays for inspection: make down KIND_CLUSTER=$(SMOKE_CLUSTER)"

.PHONY: k8s-smoke-run
k8s-smoke-run: ## k8s-smoke's steps against a deployed release (K8S_CONTEXT): wait ready, produce, settle, audit
	$(call say,waiting for Kafka and every Flink job (context $(K8S_CONTEXT)))
	$(KUBECTL_BROOK) wait kafka/brook --for=condition=Ready --timeout=15m
	$(KUBECTL_BROOK) wait flinkdeployment --all --for=jsonpath='{.status.jobStatus.state}'=RUNNING --timeout=15m
	$(call k8s_job,brook-producer-once,--count $(SMOKE_EVENTS) --rate 0)
	$(call say,letting the consumer, Flink and the exporter catch up ($(SMOKE_SETTLE_SECONDS) s))
	sleep $(SMOKE_SETTLE_SECONDS)
	$(call k8s_job,brook-audit-$(PIPELINE),$(SMOKE_AUDIT_ARGS))

# --- The CI workflow (.github/workflows/): actionlint, built from its Go module at ACTIONLINT_VERSION -------------------
$(BIN)/.actionlint-$(ACTIONLINT_VERSION):
	$(call say,building actionlint $(ACTIONLINT_VERSION) from its Go module)
	GOBIN=$(BIN) $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	rm -f $(BIN)/.actionlint-* && touch $@

.PHONY: actionlint workflow-lint
actionlint: $(BIN)/.actionlint-$(ACTIONLINT_VERSION) ## actionlint (ACTIONLINT_VERSION), built into $BROOK_HOME/bin

workflow-lint: actionlint ## actionlint over .github/workflows/*.yml
	$(BIN)/actionlint -color .github/workflows/*.yml
