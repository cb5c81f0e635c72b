# Brook's chart (charts/brook) as make sees it: strict lint of each profile, at the Kubernetes version and with the
# chart values versions.env decides (tools/versions.py CHART_VALUES: the same --set skaffold gives the release).
CHART := charts/brook
CHART_PROFILES := kind prod

.PHONY: chart-lint
chart-lint: helm $(VENV)/app/.installed ## helm lint --strict charts/brook, each profile (values-kind, values-prod)
	@sets="$$($(PY) -m tools.versions helm-sets)"; for profile in $(CHART_PROFILES); do \
	  printf '\033[1;34m==> %s\033[0m\n' "helm lint --strict $(CHART) -f $(CHART)/values-$$profile.yaml $$sets"; \
	  $(HELM) lint --strict $(CHART) -f $(CHART)/values-$$profile.yaml --kube-version $(KUBERNETES_VERSION) $$sets; \
	done
