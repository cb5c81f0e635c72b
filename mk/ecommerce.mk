# The e-commerce batch (seed 003, docs/ecommerce.md): day logs in MinIO → PyFlink batch (reads s3:// through Flink's
# s3-fs-hadoop plugin) → Postgres, validated against a Python recount, audited. The plugin is fetched aside from
# Maven Central (services/flink-s3/pom.xml, FLINK_S3_PLUGIN_VERSION), then swapped in.
FLINK_PLUGINS := $(BROOK_HOME)/flink-plugins
FLINK_S3_PLUGIN := $(FLINK_PLUGINS)/s3-fs-hadoop
ECOMMERCE_DAYS ?= 3
ECOMMERCE_ORDERS ?= 300

$(FLINK_S3_PLUGIN)/.s3-fs-hadoop-$(FLINK_S3_PLUGIN_VERSION): services/flink-s3/pom.xml
	$(call say,fetching Flink's S3 file system plugin $(FLINK_S3_PLUGIN_VERSION) into $(FLINK_S3_PLUGIN))
	rm -rf $(FLINK_S3_PLUGIN).tmp
	mvn -q -B -f services/flink-s3/pom.xml -DFLINK_S3_PLUGIN_VERSION=$(FLINK_S3_PLUGIN_VERSION) \
		dependency:copy-dependencies -DexcludeTransitive=true -DoutputDirectory=$(FLINK_S3_PLUGIN).tmp
	touch $(FLINK_S3_PLUGIN).tmp/$(notdir $@)
	rm -rf $(FLINK_S3_PLUGIN) && mkdir -p $(FLINK_PLUGINS) && mv $(FLINK_S3_PLUGIN).tmp $(FLINK_S3_PLUGIN)

.PHONY: flink-s3-plugin demo-ecommerce
flink-s3-plugin: $(FLINK_S3_PLUGIN)/.s3-fs-hadoop-$(FLINK_S3_PLUGIN_VERSION) ## Flink's S3 plugin for the local mini-cluster (FLINK_S3_PLUGIN_VERSION)

demo-ecommerce: $(DEMO_PREREQS) flink-s3-plugin ## e-commerce batch: generate days → Flink batch per day (one rerun) → validate → audit (ECOMMERCE_DAYS=3 ECOMMERCE_ORDERS=300 SEED=2026)
	$(call say,e-commerce demo: $(ECOMMERCE_DAYS) days of $(ECOMMERCE_ORDERS) orders)
	$(PY) -m jobs.local.ecommerce_demo --days $(ECOMMERCE_DAYS) --orders $(ECOMMERCE_ORDERS) --seed $(SEED)
