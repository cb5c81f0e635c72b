# The telecom pipeline (seed 002) in local mode: generator → Flink windows → daily batch + validation → audit.
.PHONY: demo-telecom
demo-telecom: $(DEMO_PREREQS) ## telecom pipeline end to end on local services + audit (EVENTS=50000 SEED=2026)
	$(call say,telecom demo: $(EVENTS) events)
	$(PY) -m jobs.local.telecom_demo --events $(EVENTS) --seed $(SEED)
