# A real single-node Kubernetes cluster on this machine (docs/kubernetes.md, "A real node (make cluster)"): the
# control plane of mk/k8s-api.mk plus containerd, runc and the CNI plugins (Debian packages) and kubelet and
# kube-proxy, built from the same wrapper module tools/k8s_api/go.mod (one Kubernetes pin) but by their own stamp, so
# that `make k8s-api-bin` and `make setup` do not build them. Needs root; everything lives under $(BROOK_HOME)/cluster.
CLUSTER_PACKAGES := containerd runc containernetworking-plugins
CLUSTER_BINS := kubelet kube-proxy
CLUSTER_STAMP := $(BIN)/.cluster-bin-$(K8S_API_VERSION)

# CoreDNS, the cluster DNS: built from its Go module by the wrapper tools/coredns (its go.mod holds the one pin; main.go
# registers only the plugins the node uses). About 4 min on a cold Go cache, seconds warm.
CLUSTER_DNS_MOD := tools/coredns
CLUSTER_DNS_VERSION := $(shell awk '$$1=="require" && $$2=="github.com/coredns/coredns"{print $$3; exit}' $(CLUSTER_DNS_MOD)/go.mod)
CLUSTER_DNS_STAMP := $(BIN)/.coredns-$(CLUSTER_DNS_VERSION)

.PHONY: cluster-packages cluster-bin cluster-dns-bin cluster cluster-down cluster-status cluster-test k8s-e2e
cluster-packages: ## containerd 1.6, runc, CNI plugins from Debian (apt-get, only what dpkg lacks; root)
	@missing=$$(for p in $(CLUSTER_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		[ "$$(id -u)" = 0 ] || { echo "cluster-packages: not root; as root: apt-get install $$missing" >&2; exit 1; }; \
		echo "installing $$missing"; apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 $$missing; \
	fi

# Under $(BUILD_LOCK) (several builds sharing 2 cores take turns); about a minute with a warm
# Go cache, as long as the k8s-api build on a cold one.
$(CLUSTER_STAMP): $(K8S_API_MOD)/go.mod $(K8S_API_MOD)/go.sum
	$(call say,building kubelet and kube-proxy $(K8S_API_VERSION) from Go modules ($(K8S_API_MOD)))
	@mkdir -p $(BIN)
	start=$$(date +%s); \
	cd $(K8S_API_MOD) && rm -rf $(BIN)/.cluster-build-tmp && mkdir -p $(BIN)/.cluster-build-tmp && \
	$(BUILD_LOCK) env GOFLAGS=-mod=readonly $(GO) build -trimpath -o $(BIN)/.cluster-build-tmp/ \
		-ldflags "$(K8S_API_LDFLAGS)" $(addprefix k8s.io/kubernetes/cmd/,$(CLUSTER_BINS)) && \
	mv $(addprefix $(BIN)/.cluster-build-tmp/,$(CLUSTER_BINS)) $(BIN)/ && rm -rf $(BIN)/.cluster-build-tmp && \
	echo "kubelet and kube-proxy built in $$(( $$(date +%s) - start ))s"
	rm -f $(BIN)/.cluster-bin-* && touch $@

cluster-bin: $(CLUSTER_STAMP) ## kubelet + kube-proxy (tools/k8s_api/go.mod) into $BROOK_HOME/bin

$(CLUSTER_DNS_STAMP): $(CLUSTER_DNS_MOD)/go.mod $(CLUSTER_DNS_MOD)/go.sum $(CLUSTER_DNS_MOD)/main.go
	$(call say,building CoreDNS $(CLUSTER_DNS_VERSION) from its Go module ($(CLUSTER_DNS_MOD)))
	@mkdir -p $(BIN)
	start=$$(date +%s); \
	cd $(CLUSTER_DNS_MOD) && $(BUILD_LOCK) env CGO_ENABLED=0 GOFLAGS=-mod=readonly $(GO) build -trimpath \
		-ldflags "-s -w" -o $(BIN)/.coredns-build-tmp . && mv $(BIN)/.coredns-build-tmp $(BIN)/coredns && \
	echo "CoreDNS built in $$(( $$(date +%s) - start ))s"
	rm -f $(BIN)/.coredns-* && touch $@

cluster-dns-bin: $(CLUSTER_DNS_STAMP) ## CoreDNS (tools/coredns/go.mod), the node's cluster DNS, into $BROOK_HOME/bin

cluster: cluster-packages cluster-bin cluster-dns-bin k8s-api-bin $(VENV)/app/.installed ## a real one-node cluster here (root): control plane, containerd, kubelet, kube-proxy, CNI bridge
	$(PY) -m tools.cluster up

cluster-down: $(VENV)/app/.installed ## stop and remove what `make cluster` made (logs stay in $BROOK_HOME/cluster/logs)
	$(PY) -m tools.cluster down

cluster-status: $(VENV)/app/.installed ## the cluster's processes, their memory (RSS) and whether the node is Ready
	$(PY) -m tools.cluster status

cluster-test: cluster-packages cluster-bin cluster-dns-bin k8s-api-bin $(VENV)/app/.installed ## pytest -m k8s_node: a restricted pod runs on the real node (root; not in make test)
	$(call say,pytest -m k8s_node)
	$(PY) -m pytest -m k8s_node tests/k8s_node/test_k8s_node.py $(PYTEST_ARGS)

# Brook's chart end to end on the node (issue 12; docs/kubernetes.md "Brook's chart on the node"): the image archives
# of the app, of the chart's MinIO and its bucket Job (mk/images-local.mk) and of the CloudNativePG operator and its
# Postgres (mk/cnpg.mk: the test installs the operator, and the chart's Cluster is its Postgres), and the Kafka jars
# of the broker the pods reach on the bridge (tools/cluster/services.py); seconds when current, and the test names the
# target of a missing archive when run without make.
k8s-e2e: cluster-packages cluster-bin cluster-dns-bin k8s-api-bin helm kafka-jars images-local-app images-local-minio images-local-mc cnpg-images $(VENV)/app/.installed $(VENV)/airflow/.installed ## pytest tests/k8s_node/test_k8s_e2e.py: the chart installed, run, audited and upgraded on the real node, bets_export run by the host's Airflow (root; not in make test)
	$(call say,pytest tests/k8s_node/test_k8s_e2e.py)
	$(PY) -m pytest -m k8s_node tests/k8s_node/test_k8s_e2e.py $(PYTEST_ARGS)
