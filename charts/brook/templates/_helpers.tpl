{{/* Common labels; "component" names the workload (NetworkPolicies select on it). */}}
{{- define "brook.labels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: brook
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "brook.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* image reference: (dict "root" $ "image" .Values.images.app) */}}
{{- define "brook.image" -}}
{{ .image.repository }}:{{ default .root.Chart.AppVersion .image.tag }}
{{- end -}}

{{/*
Generated credentials: one dict per render, memoised on the render's root context ($), never in .Values, so no
value can pre-fill or replace it (the schema refuses unknown keys too). Keys: brook.credentialKeys (_topology.tpl).
Each value is read back from the existing brook-credentials Secret when there is one, so upgrades keep it (lookup
returns nothing under `helm template`); a key the Secret has but the chart no longer names is kept as well.
*/}}
{{- define "brook.credentials" -}}
{{- if not (hasKey $ "brookCredentials") -}}
{{- $existing := (lookup "v1" "Secret" .Release.Namespace "brook-credentials").data | default dict -}}
{{- $creds := dict -}}
{{- range $key, $value := $existing -}}
{{- $_ := set $creds $key ($value | b64dec) -}}
{{- end -}}
{{- range (include "brook.credentialKeys" . | fromYamlArray) -}}
{{- if hasKey $creds . -}}
{{- else if eq . "minio-root-user" -}}
{{- $_ := set $creds . (printf "brook-%s" (randAlphaNum 8 | lower)) -}}
{{- else -}}
{{- $_ := set $creds . (randAlphaNum 32) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $ "brookCredentials" $creds -}}
{{- end -}}
{{- toYaml (index $ "brookCredentials") -}}
{{- end -}}

{{/* Service names and ports: every template (and docs/kubernetes.md) takes them from here. */}}
{{- define "brook.kafka.port" -}}9092{{- end -}}
{{- define "brook.kafka.bootstrap" -}}
{{ .Values.kafka.cluster }}-kafka-bootstrap:{{ include "brook.kafka.port" . }}
{{- end -}}
{{- define "brook.postgres.host" -}}{{ .Values.postgres.cluster }}-rw{{- end -}}
{{- define "brook.postgres.port" -}}5432{{- end -}}
{{- define "brook.postgres.statusPort" -}}8000{{- end -}}
{{- define "brook.minio.service" -}}brook-minio{{- end -}}
{{- define "brook.minio.apiPort" -}}9000{{- end -}}
{{- define "brook.minio.consolePort" -}}9001{{- end -}}
{{- define "brook.minio.endpoint" -}}
http://{{ include "brook.minio.service" . }}:{{ include "brook.minio.apiPort" . }}
{{- end -}}
{{- define "brook.flink.restPort" -}}8081{{- end -}}
{{/* The official Airflow chart's ports (its values `ports.apiServer`, `ports.workerLogs`, `ports.triggererLogs`). */}}
{{- define "brook.airflow.apiServerPort" -}}8080{{- end -}}
{{- define "brook.airflow.workerLogsPort" -}}8793{{- end -}}
{{- define "brook.airflow.triggererLogsPort" -}}8794{{- end -}}

{{/*
Kafka over TLS: the listener's certificate is signed by the Strimzi cluster CA, whose public certificate Strimzi
keeps in the Secret <cluster>-cluster-ca-cert (key ca.crt). Every Kafka client pod mounts it here and trusts only it
(BROOK_KAFKA_CA_FILE in brook-env; Strimzi docs, "Configuring internal clients to trust the cluster CA").
*/}}
{{- define "brook.kafka.caSecret" -}}{{ .Values.kafka.cluster }}-cluster-ca-cert{{- end -}}
{{- define "brook.kafka.caDir" -}}/etc/brook/kafka-ca{{- end -}}
{{- define "brook.kafka.caFile" -}}{{ include "brook.kafka.caDir" . }}/ca.crt{{- end -}}
{{- define "brook.kafka.caVolume" -}}
- name: kafka-ca
  secret:
    secretName: {{ include "brook.kafka.caSecret" . }}
    items: [{key: ca.crt, path: ca.crt}]
{{- end -}}
{{- define "brook.kafka.caMount" -}}
- {name: kafka-ca, mountPath: {{ include "brook.kafka.caDir" . }}, readOnly: true}
{{- end -}}
{{- define "brook.kafkaUi.port" -}}8080{{- end -}}
{{- define "brook.pgadmin.port" -}}8081{{- end -}}

{{/* Pod-level security: non-root, no privilege escalation, RuntimeDefault seccomp (Pod Security "restricted"). */}}
{{- define "brook.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 10001 }}
runAsGroup: {{ .uid | default 10001 }}
fsGroup: {{ .uid | default 10001 }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "brook.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* envFrom of a workload: the shared ConfigMap and its own Secret. */}}
{{- define "brook.envFrom" -}}
- configMapRef:
    name: brook-env
- secretRef:
    name: brook-{{ . }}-env
{{- end -}}

{{/* The Flink release inside brook/flink-job (FLINK_VERSION of versions.env, which images/flink-job/pom.xml resolves):
required, no default (skaffold and make pass --set flink.release). */}}
{{- define "brook.flinkRelease" -}}
{{ required "flink.release is required: the Flink release of brook/flink-job (FLINK_VERSION in versions.env; skaffold and make pass --set flink.release)" .Values.flink.release }}
{{- end -}}

{{/* The FlinkDeployment's flinkVersion, derived from flink.release: <major>.<minor>.<patch> → v<major>_<minor> (the operator's enum). */}}
{{- define "brook.flinkVersion" -}}
{{- $parts := splitList "." (include "brook.flinkRelease" .) -}}
v{{ index $parts 0 }}_{{ index $parts 1 }}
{{- end -}}
