# Brook's images (images/<name>/Dockerfile, built by skaffold: mk/kind.mk): lint, requirement locks, jar checksums.
# Their versions come from versions.env as build args (skaffold.yaml buildArgs); no Docker engine is needed here.
HADOLINT := $(firstword $(wildcard $(BIN)/hadolint) $(VENV)/app/bin/hadolint)
DOCKERFILES := $(sort $(wildcard images/*/Dockerfile))

.PHONY: docker-lint image-locks image-checksums
docker-lint: $(VENV)/app/.installed ## hadolint on every Dockerfile (images/*/Dockerfile)
	$(call say,hadolint $(DOCKERFILES))
	$(HADOLINT) $(DOCKERFILES)

image-locks: | $(UV) ## re-resolve images/{app,flink-job,airflow}/requirements.lock at the versions the tests ran
	$(UV) pip compile --quiet --generate-hashes --python-version 3.11 -c requirements/app.lock \
		images/app/requirements.in -o images/app/requirements.lock
	$(UV) pip compile --quiet --generate-hashes --python-version 3.11 -c requirements/app.lock \
		--no-emit-package apache-flink-libraries images/flink-job/requirements.in -o images/flink-job/requirements.lock
	# Airflow at requirements/airflow.lock's versions; psycopg2-binary (not in that lock) at requirements/app.lock's.
	$(UV) pip compile --quiet --generate-hashes --python-version 3.11 -c requirements/airflow.lock \
		-c <(grep -o '^psycopg2-binary==[^ ]*' requirements/app.lock) \
		images/airflow/requirements.in -o images/airflow/requirements.lock

image-checksums: flink-jars ## rewrite images/flink-job/jars.sha256 from the jars `make flink-jars` fetched
	cd $(FLINK_JARS) && sha256sum *.jar > $(CURDIR)/images/flink-job/jars.sha256
	cat images/flink-job/jars.sha256
