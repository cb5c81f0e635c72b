# Longer runs of the generative one-verdict tests (marker fuzz: tests/unit/test_rules_hypothesis.py,
# tests/integration/test_one_verdict.py). `make test` runs each with a bounded number of examples; this multiplies
# them by FUZZ_SCALE (BROOK_FUZZ_SCALE, read by tests/message_strategies.profile). Deterministic: same examples
# every run, no example database written.
FUZZ_SCALE ?= 10

.PHONY: fuzz
fuzz: setup ## generative one-verdict tests (Python, Flink SQL, Postgres), FUZZ_SCALE=10 x the examples of make test
	$(call say,fuzz: $(FUZZ_SCALE) x the examples of make test)
	BROOK_FUZZ_SCALE=$(FUZZ_SCALE) $(PY) -m pytest -m fuzz $(PYTEST_ARGS)
