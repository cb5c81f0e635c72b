# Brook's images without a Docker engine or a registry (docs/kubernetes.md, "Images without a registry"): a Python
# base made by debootstrap from Debian bookworm, then images/*/Dockerfile built by buildah over it and exported as
# OCI archives under $(BROOK_HOME)/images, which a containerd node imports (`ctr -n k8s.io images import`). The
# Dockerfiles' defaults stay the public images; only the base build args differ. Needs root (debootstrap, buildah).
# Builds take $(BUILD_LOCK) (builds sharing the cores take turns).
LOCAL_IMAGES := $(BROOK_HOME)/images
# The Python minor of versions.env's PYTHON_IMAGE (python:<minor>.<patch>-...): bookworm's python<minor> must exist.
LOCAL_PYTHON_MINOR := $(shell echo '$(PYTHON_IMAGE)' | sed -E 's/^[^:]*:([0-9]+\.[0-9]+)\..*/\1/')
LOCAL_BASE_IMAGE := localhost/brook/python-base:$(LOCAL_PYTHON_MINOR)-bookworm
# Airflow's version is images/airflow/Dockerfile's (tied to requirements/airflow.in by tests/charts/test_images.py).
LOCAL_AIRFLOW_VERSION := $(shell sed -n 's/^ARG AIRFLOW_VERSION=//p' images/airflow/Dockerfile)
LOCAL_AIRFLOW_BASE := localhost/brook/airflow-base
# The tag of the images made here (the names are localhost/brook/<image>); which images `make images-local` builds.
LOCAL_IMAGE_TAG ?= local
IMAGES_LOCAL ?= app airflow
IMAGES_LOCAL_PACKAGES := debootstrap buildah uidmap podman runc containerd

.PHONY: images-local-packages base-image images-local images-test
images-local-packages: ## debootstrap, buildah; podman, runc, containerd for images-test (apt-get, only what dpkg lacks; root)
	@missing=$$(for p in $(IMAGES_LOCAL_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		[ "$$(id -u)" = 0 ] || { echo "images-local-packages: not root; as root: apt-get install $$missing" >&2; exit 1; }; \
		echo "installing $$missing"; apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 $$missing; \
	fi

# Rebuilt when the script changed or the image is gone from buildah's storage (the stamp alone could lie).
base-image: images-local-packages ## Debian bookworm minbase + python3.x (versions.env PYTHON_IMAGE's minor) as a local buildah image
	@stamp=$(LOCAL_IMAGES)/.base-$(LOCAL_PYTHON_MINOR).stamp; \
	if [ "$$stamp" -nt tools/images/base-image.sh ] && buildah inspect --type image $(LOCAL_BASE_IMAGE) >/dev/null 2>&1; then \
		echo "$(LOCAL_BASE_IMAGE): up to date"; \
	else \
		start=$$(date +%s); mkdir -p $(LOCAL_IMAGES); \
		$(BUILD_LOCK) tools/images/base-image.sh $(LOCAL_BASE_IMAGE) $(LOCAL_PYTHON_MINOR) $(LOCAL_IMAGES)/base && \
		touch "$$stamp" && echo "$(LOCAL_BASE_IMAGE) built in $$(( $$(date +%s) - start ))s"; \
	fi

images-local: base-image ## buildah-build images/{app,airflow}/Dockerfile over the Debian base into $BROOK_HOME/images/*.oci.tar
	@for name in $(IMAGES_LOCAL); do $(MAKE) images-local-$$name; done

.PHONY: images-local-app images-local-airflow images-local-minio images-local-mc
images-local-app: base-image
	$(BUILD_LOCK) tools/images/build.sh localhost/brook/app:$(LOCAL_IMAGE_TAG) images/app/Dockerfile \
		$(LOCAL_IMAGES)/app.oci.tar --build-arg PYTHON_IMAGE=$(LOCAL_BASE_IMAGE)

# The chart's MinIO and its bucket Job's mc (minio.image, minio.mcImage; the node's e2e sets them): the binaries built
# from their Go modules (mk/tools.mk) over the Debian base, copied from the build context `bin` ($(BIN)).
images-local-minio: base-image minio
	$(BUILD_LOCK) tools/images/build.sh localhost/brook/minio:$(LOCAL_IMAGE_TAG) tools/images/minio.Dockerfile \
		$(LOCAL_IMAGES)/minio.oci.tar --build-arg PYTHON_IMAGE=$(LOCAL_BASE_IMAGE) --build-context bin=$(BIN)

images-local-mc: base-image mc
	$(BUILD_LOCK) tools/images/build.sh localhost/brook/mc:$(LOCAL_IMAGE_TAG) tools/images/mc.Dockerfile \
		$(LOCAL_IMAGES)/mc.oci.tar --build-arg PYTHON_IMAGE=$(LOCAL_BASE_IMAGE) --build-context bin=$(BIN)

# The Airflow image over a stand-in for the official base (tools/images/airflow-base.Dockerfile), tagged as the
# official one is, so images/airflow/Dockerfile only swaps the repository (AIRFLOW_IMAGE).
images-local-airflow: base-image
	NO_EXPORT=1 $(BUILD_LOCK) tools/images/build.sh $(LOCAL_AIRFLOW_BASE):$(LOCAL_AIRFLOW_VERSION)-python$(LOCAL_PYTHON_MINOR) \
		tools/images/airflow-base.Dockerfile $(LOCAL_IMAGES)/airflow-base.oci.tar \
		--build-arg PYTHON_IMAGE=$(LOCAL_BASE_IMAGE)
	$(BUILD_LOCK) tools/images/build.sh localhost/brook/airflow:$(LOCAL_IMAGE_TAG) images/airflow/Dockerfile \
		$(LOCAL_IMAGES)/airflow.oci.tar --build-arg AIRFLOW_IMAGE=$(LOCAL_AIRFLOW_BASE)

images-test: images-local $(VENV)/app/.installed ## run the built images without a node: user, read-only root, a job against the local services
	$(PY) -m pytest -m k8s_node tests/k8s_node/test_local_images.py -q $(PYTEST_ARGS)

# brook/flink-job's official bases are unobtainable here: this builds what can be shown of it, its Python layer over
# the Debian base with a JRE and PyFlink's embedded runtime (tools/images/flink-python.Dockerfile; not exported).
# The runtime's hash is requirements/app.lock's; apt in the build reads this host's sources, mounted read-only.
LOCAL_FLINK_LIBRARIES_SHA256 = $(shell grep -A1 '^apache-flink-libraries==' requirements/app.lock | grep -o 'sha256:[0-9a-f]*' | cut -d: -f2)
.PHONY: images-flink-python
images-flink-python: base-image ## the Flink job image's Python layer over Debian (JRE + PyFlink's embedded runtime), for images-test
	NO_EXPORT=1 $(BUILD_LOCK) tools/images/build.sh localhost/brook/flink-python:$(LOCAL_IMAGE_TAG) \
		tools/images/flink-python.Dockerfile $(LOCAL_IMAGES)/flink-python.oci.tar \
		--build-arg PYTHON_IMAGE=$(LOCAL_BASE_IMAGE) --build-arg FLINK_VERSION=$(FLINK_VERSION) \
		--build-arg FLINK_LIBRARIES_SHA256=$(LOCAL_FLINK_LIBRARIES_SHA256) \
		--volume /etc/apt/sources.list.d:/etc/apt/sources.list.d:ro \
		$(if $(wildcard /etc/apt/sources.list),--volume /etc/apt/sources.list:/etc/apt/sources.list:ro)
