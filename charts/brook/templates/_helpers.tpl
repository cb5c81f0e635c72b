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
Generated credentials, one dict per render (memoised in .Values), each value read back from the existing
brook-credentials Secret when there is one, so upgrades keep them (lookup returns nothing under `helm template`).
*/}}
{{- define "brook.credentials" -}}
{{- if not (hasKey .Values "__credentials") -}}
{{- $existing := (lookup "v1" "Secret" .Release.Namespace "brook-credentials").data | default dict -}}
{{- $creds := dict -}}
{{- $keys := list "pg-password" "minio-root-user" "minio-root-password" "kafka-brook-producer" "kafka-brook-consumer" "kafka-brook-flink" "kafka-brook-telecom" "kafka-brook-ui" "pgadmin-password" "kafka-ui-password" "telecom-mask-key" -}}
{{- range $keys -}}
{{- if hasKey $existing . -}}
{{- $_ := set $creds . (index $existing . | b64dec) -}}
{{- else if eq . "minio-root-user" -}}
{{- $_ := set $creds . (printf "brook-%s" (randAlphaNum 8 | lower)) -}}
{{- else -}}
{{- $_ := set $creds . (randAlphaNum 32) -}}
{{- end -}}
{{- end -}}
{{- $_ := set .Values "__credentials" $creds -}}
{{- end -}}
{{- toYaml (index .Values "__credentials") -}}
{{- end -}}

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

{{/* The Flink release inside brook/flink-job (images/flink-job: FLINK_VERSION, from dev/flink/pom.xml). */}}
{{- define "brook.flinkRelease" -}}
{{ .Values.flink.release | default "2.0.2" }}
{{- end -}}
