# The pipelines in local mode: `make demo` runs bets end to end on the local services and audits it.
EVENTS ?= 50000
RATE ?= 0
SEED ?= 2026
DEMO_PREREQS := $(VENV)/app/.installed kafka-jars postgres-server minio flink-jars

.PHONY: demo audit
demo: $(DEMO_PREREQS) ## bets pipeline end to end on local services + conservation audit (EVENTS=50000 RATE=0 SEED=2026)
	$(call say,demo: $(EVENTS) events)
	$(PY) -m jobs.local.bets_demo --events $(EVENTS) --rate $(RATE) --seed $(SEED)

audit: $(VENV)/app/.installed ## conservation audit of a running deployment (BROOK_* settings; local: services env)
	set -a; [ -f $(BROOK_HOME)/run/endpoints.env ] && . $(BROOK_HOME)/run/endpoints.env; set +a; $(PY) -m jobs.bets.audit

.PHONY: bench
BENCH_ARGS ?=
bench: $(DEMO_PREREQS) ## benchmarks: each stage vs its raw baseline, results in bench/results/ (BENCH_ARGS=--quick)
	$(call say,benchmarks $(BENCH_ARGS))
	$(PY) -m bench.run $(BENCH_ARGS)
