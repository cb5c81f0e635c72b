# The user-behaviour pipeline (issue 14, docs/behaviour.md) in local mode: WebSocket gateway ← emulator, → Kafka →
# PyFlink sessions (bounded) → Postgres → audit.
BEHAVIOUR_USERS ?= 20
BEHAVIOUR_EVENTS ?= 2000

.PHONY: demo-behaviour
demo-behaviour: $(DEMO_PREREQS) ## behaviour pipeline end to end on local services + audit (BEHAVIOUR_USERS=20 BEHAVIOUR_EVENTS=2000 SEED=2026)
	$(call say,behaviour demo: $(BEHAVIOUR_USERS) users sending $(BEHAVIOUR_EVENTS) frames)
	$(PY) -m jobs.local.behaviour_demo --users $(BEHAVIOUR_USERS) --events $(BEHAVIOUR_EVENTS) --seed $(SEED)
