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
{{- if .Values.kafka.external.enabled -}}
{{ .Values.kafka.external.bootstrap }}
{{- else -}}
{{ .Values.kafka.cluster }}-kafka-bootstrap:{{ include "brook.kafka.port" . }}
{{- end -}}
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
{{/* The S3 endpoint every workload and Flink use: the in-chart MinIO, or s3.external.endpoint. */}}
{{- define "brook.s3.endpoint" -}}
{{- if .Values.s3.external.enabled -}}
{{ .Values.s3.external.endpoint }}
{{- else -}}
{{ include "brook.minio.endpoint" . }}
{{- end -}}
{{- end -}}
{{/* Brook's own database as clients dial it: the CNPG Cluster's -rw Service, or postgres.external. YAML dict. */}}
{{- define "brook.pg.connection" -}}
{{- $x := .Values.postgres.external -}}
{{- if $x.enabled -}}
{{ toYaml (dict "host" $x.host "port" (toString $x.port) "database" $x.database "sslmode" $x.sslmode) }}
{{- else -}}
{{ toYaml (dict "host" (include "brook.postgres.host" .) "port" (include "brook.postgres.port" .) "database" .Values.postgres.database "sslmode" "require") }}
{{- end -}}
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
{{/* "true" when Kafka clients mount a CA: always in-chart (Strimzi's), with kafka.external only if ca.secret is set. */}}
{{- define "brook.kafka.hasCa" -}}
{{- if or (not .Values.kafka.external.enabled) .Values.kafka.external.ca.secret -}}true{{- end -}}
{{- end -}}
{{- define "brook.kafka.caVolume" -}}
{{- $x := .Values.kafka.external -}}
- name: kafka-ca
  secret:
    {{- if $x.enabled }}
    secretName: {{ $x.ca.secret }}
    items: [{key: {{ $x.ca.key }}, path: ca.crt}]
    {{- else }}
    secretName: {{ include "brook.kafka.caSecret" . }}
    items: [{key: ca.crt, path: ca.crt}]
    {{- end }}
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


{{/*
Bring your own services (kafka.external, postgres.external, s3.external; docs/kubernetes.md "Bring your own Kafka,
Postgres, S3"): the credentials a workload's Secret brook-<secret>-env would carry for an external service come
instead from the user's existing Secrets, as env entries with valueFrom.secretKeyRef (never copied into a Secret of
the chart). (dict "root" $ "secret" <name of brook-<name>-env>) → a YAML list of env entries, possibly empty.
*/}}
{{- define "brook.externalEnv" -}}
{{- $ := .root -}}
{{- $needs := get (include "brook.topology" $ | fromYaml).secrets .secret | default dict -}}
{{- $k := $.Values.kafka.external -}}
{{- $pg := $.Values.postgres.external -}}
{{- $s3 := $.Values.s3.external -}}
{{- if and $k.enabled $needs.kafkaUser (hasPrefix "SASL" $k.securityProtocol) }}
{{- $u := get $k.users $needs.kafkaUser }}
{{- if not $u }}{{ include "brook.external.check" $ }}{{ end }}{{- /* fails naming kafka.external.users.<user> */}}
- name: BROOK_KAFKA_USERNAME
  valueFrom: {secretKeyRef: {name: {{ $u.secret }}, key: {{ $u.usernameKey | default "username" }}}}
- name: BROOK_KAFKA_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ $u.secret }}, key: {{ $u.passwordKey | default "password" }}}}
{{- end }}
{{- if and $pg.enabled $needs.postgres }}
- name: BROOK_PG_USER
  valueFrom: {secretKeyRef: {name: {{ $pg.secret }}, key: {{ $pg.usernameKey }}}}
- name: BROOK_PG_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ $pg.secret }}, key: {{ $pg.passwordKey }}}}
{{- end }}
{{- if and $s3.enabled $needs.s3 }}
- name: BROOK_S3_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ $s3.secret }}, key: {{ $s3.accessKeyKey }}}}
- name: BROOK_S3_SECRET_KEY
  valueFrom: {secretKeyRef: {name: {{ $s3.secret }}, key: {{ $s3.secretKeyKey }}}}
{{- end }}
{{- end -}}

{{/* Combinations the external blocks cannot serve fail the render, naming the key and the fix (the schema checks
each block's own required keys). Included once, from configmap-env.yaml. */}}
{{- define "brook.external.check" -}}
{{- $v := .Values -}}
{{- $t := include "brook.topology" . | fromYaml -}}
{{- $k := $v.kafka.external -}}
{{- if $k.enabled -}}
{{- if hasPrefix "SASL" $k.securityProtocol -}}
{{- range $name, $s := $t.secrets -}}
{{- with $s.kafkaUser -}}
{{- if not (get $k.users .) -}}
{{- fail (printf "kafka.external.users.%s is required (kafka.external.securityProtocol=%s; Secret brook-%s-env's workloads log in as %s): set kafka.external.users.%s.secret to the existing Secret holding that login (keys usernameKey/passwordKey, default username/password)" . $k.securityProtocol $name . .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (hasPrefix "SASL" $k.securityProtocol) (eq $k.saslMechanism "PLAIN") $t.flinkJobs -}}
{{- fail "kafka.external.saslMechanism=PLAIN: Brook's Flink jobs log in with SCRAM only (jobs/flink/environment.py): use SCRAM-SHA-256 or SCRAM-SHA-512" -}}
{{- end -}}
{{- if $v.ui.kafkaUi.enabled -}}
{{- fail "ui.kafkaUi.enabled=true is not supported with kafka.external.enabled=true (its login would be copied into a chart Secret): set ui.kafkaUi.enabled=false" -}}
{{- end -}}
{{- range $t.connects -}}
{{- fail (printf "pipelines.%s.connect (a Strimzi KafkaConnect) is not supported with kafka.external.enabled=true: disable pipelines.%s or use the in-chart Kafka" .pipeline .pipeline) -}}
{{- end -}}
{{- end -}}
{{- if and $v.postgres.external.enabled $v.postgres.backup.enabled -}}
{{- fail "postgres.backup.enabled=true backs up the in-chart CNPG Cluster, which postgres.external.enabled=true replaces: set postgres.backup.enabled=false (back up your own Postgres with its provider's tools)" -}}
{{- end -}}
{{- if and $v.s3.external.enabled $v.postgres.backup.enabled -}}
{{- fail "postgres.backup.enabled=true creates its bucket and MinIO user with MinIO's root login, which s3.external.enabled=true removes: set postgres.backup.enabled=false" -}}
{{- end -}}
{{- end -}}
