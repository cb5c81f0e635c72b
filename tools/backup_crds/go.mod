// The CRDs the chart's backup resources (charts/brook/templates/backup.yaml) are validated against: not built, only
// downloaded by mk/backup.mk (make backup-schemas), which reads the versions off these require lines.
// - The Barman Cloud plugin for CloudNativePG (ObjectStore, barmancloud.cnpg.io/v1); v0.15.0 is built against
//   CloudNativePG v1.30.0 (its go.mod), the operator CNPG_APP_VERSION pins.
// - The Prometheus Operator (PrometheusRule, monitoring.coreos.com/v1).
module brook/tools/backup_crds

go 1.24

require (
	github.com/cloudnative-pg/plugin-barman-cloud v0.15.0
	github.com/prometheus-operator/prometheus-operator v0.85.0
)
