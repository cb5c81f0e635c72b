# A Kubernetes control plane for the k8s_api tests (tests/k8s_api): etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and kubectl, built from their Go modules into $(BIN). No kubelet, no node, no container runtime:
# docs/kubernetes.md ("A real API server in make test") says what that proves and what it does not.
# The versions are pinned in the wrapper module tools/k8s_api/go.mod (k8s.io/kubernetes replaces its staging modules,
# which `go install pkg@version` refuses; the wrapper pins them to the same release). The stamp carries both versions
# and depends on go.mod/go.sum: changing a pin rebuilds, nothing else does. Go's own caches (module and build cache,
# as for helm) keep a rebuild warm: ~11 min cold on 2 cores, well under a minute warm.
K8S_API_MOD := tools/k8s_api
# Read off go.mod by awk (cheap at every make run; `go list -m` would be exact but slow).
K8S_API_VERSION := $(shell awk '$$1=="k8s.io/kubernetes" && $$2~/^v/{print $$2; exit}' $(K8S_API_MOD)/go.mod)
ETCD_VERSION := $(shell awk '$$1=="go.etcd.io/etcd/server/v3" && $$2~/^v/{print $$2; exit}' $(K8S_API_MOD)/go.mod)
K8S_API_BINS := kube-apiserver kube-controller-manager kube-scheduler kubectl
K8S_API_STAMP := $(BIN)/.k8s-api-$(K8S_API_VERSION)-etcd-$(ETCD_VERSION)
# What Kubernetes' own hack/lib/version.sh stamps (component-base for the servers, client-go for kubectl's client
# version). gitTreeState=archive: built from the release's module archive, not a git checkout.
K8S_API_VERSION_PKGS := k8s.io/component-base/version k8s.io/client-go/pkg/version
K8S_API_MAJOR = $(word 1,$(subst ., ,$(K8S_API_VERSION:v%=%)))
K8S_API_MINOR = $(word 2,$(subst ., ,$(K8S_API_VERSION:v%=%)))
K8S_API_LDFLAGS = -s -w $(foreach p,$(K8S_API_VERSION_PKGS),-X $(p).gitVersion=$(K8S_API_VERSION) \
	-X $(p).gitMajor=$(K8S_API_MAJOR) -X $(p).gitMinor=$(K8S_API_MINOR) -X $(p).gitTreeState=archive)

$(K8S_API_STAMP): $(K8S_API_MOD)/go.mod $(K8S_API_MOD)/go.sum
	$(call say,building etcd $(ETCD_VERSION) and Kubernetes $(K8S_API_VERSION) ($(K8S_API_BINS)) from Go modules ($(K8S_API_MOD)); about 11 min on a cold Go cache)
	@mkdir -p $(BIN)
	start=$$(date +%s); cd $(K8S_API_MOD) && export GOFLAGS=-mod=readonly && \
	$(GO) build -trimpath -o $(BIN)/etcd.tmp -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-$(ETCD_VERSION)" \
		go.etcd.io/etcd/server/v3 && \
	rm -rf $(BIN)/.k8s-build-tmp && mkdir -p $(BIN)/.k8s-build-tmp && \
	$(GO) build -trimpath -o $(BIN)/.k8s-build-tmp/ -ldflags "$(K8S_API_LDFLAGS)" \
		$(addprefix k8s.io/kubernetes/cmd/,$(K8S_API_BINS)) && \
	mv $(BIN)/etcd.tmp $(BIN)/etcd && mv $(addprefix $(BIN)/.k8s-build-tmp/,$(K8S_API_BINS)) $(BIN)/ && \
	rm -rf $(BIN)/.k8s-build-tmp && \
	echo "k8s-api binaries built in $$(( $$(date +%s) - start ))s: etcd $(ETCD_VERSION), Kubernetes $(K8S_API_VERSION)"
	rm -f $(BIN)/.k8s-api-* && touch $@

.PHONY: k8s-api-bin k8s-api
k8s-api-bin: $(K8S_API_STAMP) ## etcd + kube-apiserver/controller-manager/scheduler + kubectl (tools/k8s_api/go.mod) into $BROOK_HOME/bin

k8s-api: k8s-api-bin $(BIN)/.helm-$(HELM_VERSION) schemas $(VENV)/app/.installed ## only the k8s_api tests: Brook's chart against a real API server (no node)
	$(call say,pytest -m k8s_api)
	$(PY) -m pytest -m k8s_api tests/k8s_api $(PYTEST_ARGS)
