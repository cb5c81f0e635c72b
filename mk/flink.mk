# Flink connector jars for PyFlink's local mini-cluster (the runtime comes with PyPI's apache-flink). The artifacts are
# listed in images/flink-job/pom.xml, the pom the Flink job image resolves too; their versions are in versions.env.
FLINK_JARS := $(BROOK_HOME)/jars/flink
FLINK_POM := images/flink-job/pom.xml
FLINK_POM_VERSIONS := -DFLINK_KAFKA_CONNECTOR_VERSION=$(FLINK_KAFKA_CONNECTOR_VERSION) \
	-DFLINK_JDBC_CONNECTOR_VERSION=$(FLINK_JDBC_CONNECTOR_VERSION) -DPOSTGRES_JDBC_VERSION=$(POSTGRES_JDBC_VERSION)
FLINK_JARS_STAMP := $(FLINK_JARS)/.jars-$(FLINK_KAFKA_CONNECTOR_VERSION)-$(FLINK_JDBC_CONNECTOR_VERSION)-$(POSTGRES_JDBC_VERSION)

$(FLINK_JARS_STAMP): $(FLINK_POM)
	$(call say,fetching Flink connector jars (Kafka $(FLINK_KAFKA_CONNECTOR_VERSION), JDBC $(FLINK_JDBC_CONNECTOR_VERSION), PostgreSQL $(POSTGRES_JDBC_VERSION)) into $(FLINK_JARS))
	rm -rf $(FLINK_JARS).tmp
	mvn -q -B -f $(FLINK_POM) $(FLINK_POM_VERSIONS) dependency:copy-dependencies -DexcludeTransitive=true \
		-DoutputDirectory=$(FLINK_JARS).tmp
	touch $(FLINK_JARS).tmp/$(notdir $@)
	rm -rf $(FLINK_JARS) && mv $(FLINK_JARS).tmp $(FLINK_JARS)

# Brook's own Flink functions (jobs/flink/functions: the contract verdict), compiled against PyPI's apache-flink, the
# runtime local mode runs. The Flink image compiles the same sources against its base image (images/flink-job).
FLINK_FUNCTIONS_JAR := $(BROOK_HOME)/jars/brook-flink/brook-flink-functions.jar
$(FLINK_FUNCTIONS_JAR): $(VENV)/app/.installed jobs/flink/functions/build.sh $(shell find jobs/flink/functions -name '*.java')
	$(call say,compiling Brook's Flink functions into $@)
	jobs/flink/functions/build.sh "$$($(PY) -c 'import pathlib, pyflink; print(pathlib.Path(pyflink.__file__).parent / "lib")')" $@

.PHONY: flink-jars
flink-jars: $(FLINK_JARS_STAMP) $(FLINK_FUNCTIONS_JAR) ## Flink connector jars (versions.env; artifacts in images/flink-job/pom.xml) and Brook's functions jar
