# CloudNativePG on the real node of `make cluster` (docs/kubernetes.md, "CloudNativePG on the node"; issue 12): the
# operator's manager built from its Go module at versions.env's CNPG_APP_VERSION (the operator the kind setup's chart
# runs), its image and a Postgres image made by buildah over the Debian base (the official ones are on ghcr.io, not
# obtainable here), exported as OCI archives under $(LOCAL_IMAGES). `make cnpg-install` imports them into the node's
# containerd and applies the module's own config/default (CRDs, RBAC, webhooks, Deployment) with the image replaced
# (tools/cnpg/operator.py). Needs root (buildah, containerd).
CNPG_MODULE := github.com/cloudnative-pg/cloudnative-pg
CNPG_DIR := $(BROOK_HOME)/cnpg
CNPG_MANAGER := $(CNPG_DIR)/manager-$(CNPG_APP_VERSION)
# The Postgres major: bookworm's postgresql-15 (the base image's suite). CNPG reads the major off the image's tag.
CNPG_PG_MAJOR := 15
CNPG_OPERATOR_IMAGE := localhost/brook/cloudnative-pg:$(CNPG_APP_VERSION)
CNPG_POSTGRES_IMAGE := localhost/brook/postgresql:$(CNPG_PG_MAJOR)
CNPG_OPERATOR_ARCHIVE := $(LOCAL_IMAGES)/cnpg-operator.oci.tar
CNPG_POSTGRES_ARCHIVE := $(LOCAL_IMAGES)/cnpg-postgresql.oci.tar

# `go install pkg@version` is refused here (its deprecation check lists the module's versions, which the proxy
# answers 403), so a throwaway module requires it at the pinned version and builds cmd/manager; go.sum is checked
# against the checksum database as usual. Static (CGO off): the bootstrap init container copies the same binary
# into the Postgres image. Under $(BUILD_LOCK); about 7 min on a cold Go cache (2 shared cores).
$(CNPG_MANAGER):
	$(call say,building the CloudNativePG manager $(CNPG_APP_VERSION) from its Go module)
	@mkdir -p $(CNPG_DIR)
	start=$$(date +%s); src=$(CNPG_DIR)/src; rm -rf $$src && mkdir -p $$src && cd $$src && \
	$(GO) mod init brook.local/cnpg-manager > /dev/null 2>&1 && \
	$(GO) get $(CNPG_MODULE)/cmd/manager@v$(CNPG_APP_VERSION) && \
	$(BUILD_LOCK) env CGO_ENABLED=0 $(GO) build -trimpath -o $@.tmp -ldflags "-s -w \
		-X $(CNPG_MODULE)/pkg/versions.buildVersion=$(CNPG_APP_VERSION) \
		-X $(CNPG_MODULE)/pkg/versions.buildCommit=module-v$(CNPG_APP_VERSION)" $(CNPG_MODULE)/cmd/manager && \
	mv $@.tmp $@ && echo "CNPG manager built in $$(( $$(date +%s) - start ))s"

.PHONY: cnpg-images cnpg-install cnpg-uninstall cnpg-test
cnpg-images: base-image $(CNPG_MANAGER) ## the CNPG operator image (its Go module's manager) and a Postgres 15 image (Debian's) as OCI archives (root)
	$(BUILD_LOCK) tools/cnpg/operator-image.sh $(CNPG_OPERATOR_IMAGE) $(CNPG_MANAGER) \
		$$($(GO) env GOARCH) $(CNPG_OPERATOR_ARCHIVE)
	$(BUILD_LOCK) tools/images/build.sh $(CNPG_POSTGRES_IMAGE) tools/cnpg/postgresql.Dockerfile \
		$(CNPG_POSTGRES_ARCHIVE) --build-arg PYTHON_IMAGE=$(LOCAL_BASE_IMAGE) --build-arg PG_MAJOR=$(CNPG_PG_MAJOR) \
		--volume /etc/apt/sources.list.d:/etc/apt/sources.list.d:ro \
		$(if $(wildcard /etc/apt/sources.list),--volume /etc/apt/sources.list:/etc/apt/sources.list:ro)

cnpg-install: cnpg-images $(VENV)/app/.installed ## import the CNPG images into the running node and install the operator (namespace cnpg-system; root)
	$(PY) -m tools.cnpg install --operator $(CNPG_OPERATOR_ARCHIVE) --postgres $(CNPG_POSTGRES_ARCHIVE)

cnpg-uninstall: $(VENV)/app/.installed ## remove the CNPG operator, its CRDs and webhooks from the node
	$(PY) -m tools.cnpg uninstall

cnpg-test: cnpg-images images-local-app helm kafka-jars postgres-server minio cluster-packages cluster-bin cluster-dns-bin k8s-api-bin $(VENV)/app/.installed ## pytest tests/k8s_node/test_cnpg.py: the chart's Postgres run by the real CNPG operator on the node (root; not in make test)
	$(call say,pytest tests/k8s_node/test_cnpg.py)
	$(PY) -m pytest -m k8s_node tests/k8s_node/test_cnpg.py $(PYTEST_ARGS)
