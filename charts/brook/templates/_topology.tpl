{{/*
Brook's topology, computed once from values: the platform's own workloads (below) plus every enabled
pipelines.<name> block. Every template that lists topics, KafkaUsers, Secrets, NetworkPolicy peers, Deployments,
FlinkDeployments or DAG-pod ServiceAccounts reads this, so no template names a pipeline.

  include "brook.topology" . | fromYaml →
    topics:          [{name, partitions, retentionHours}]            enabled pipelines' topics
    env:             {BROOK_TOPIC_…: name, …}                        every declared pipeline's topic/bucket names
                                                                     (topics with `env`) and CDC topic prefixes
    buckets:         [name]                                          minio.buckets + every pipeline's buckets
    users:           {<KafkaUser>: {acls: […]}}                      union of ACLs per user name
    secrets:         {<secret>: {kafkaUser, postgres, s3, generated}}  → Secret brook-<secret>-env
    deployments:     [{name, secret, args, replicas, env, resources, kafka, serve}]   the enabled `deployment`
                                                                     blocks (serve: {} unless it serves a port)
    oneShots:        [same]                                          every `deployment` block (enabled or not)
                                                                     but a server's (`serve`): CronJob templates
                                                                     brook-<workload>-once
    flinkJobs:       [{name, module}]                                brook-<pipeline>-<job>, jobs.<pipeline>.flink.<job>
    serviceAccounts: [{name, component, secret}]                     the DAG pods' (secret: their env Secret's)
    peers:           {kafka: [component], postgres: […], minio: […]}  NetworkPolicy / listener peers
    enabled:         [pipeline]                                      enabled pipelines (brook-airflow-env)
    audits:          [{name, module}]                                CronJob template brook-audit-<pipeline>
    databases:       [{cluster, pipeline, key, env, passwordKey, readers, ...the block}]  enabled pipelines' own
                                                                     Postgres (templates/pipeline-databases.yaml)
    replications:    [{pipeline, publisher, subscriber, roleKey, ...the block}]  their logical replication
                                                                     (subscriber "" without `to`: a decoding
                                                                     client such as Debezium, no Subscription)
    connects:        [{pipeline, name, component, cluster, ...the block}]  Strimzi KafkaConnect per pipeline
                                                                     `connect` block (templates/kafka-connect.yaml)

The platform's `audit` workload (every enabled pipeline's conservation audit, KafkaUser brook-audit) exists when an
enabled pipeline gives brook-audit ACLs: the audit reads only the topics the pipelines grant it.
*/}}
{{- define "brook.topology" -}}
{{- $v := .Values -}}
{{- /* The platform's workloads: every Flink job (component flink) and the migration Job. */ -}}
{{- $workloads := dict
  "flink" (dict "kafkaUser" "brook-flink" "postgres" true "s3" true)
  "migrate" (dict "postgres" true) -}}
{{- $users := dict -}}
{{- range $name, $u := $v.kafka.users -}}
{{- $_ := set $users $name (dict "acls" (concat (list) $u.acls)) -}}
{{- end -}}
{{- $peers := dict "kafka" (list) "postgres" (list) "minio" (list "minio-setup") -}}
{{- if $v.ui.kafkaUi.enabled -}}
{{- $_ := set $users "brook-ui" (dict "acls" (concat (list) $v.ui.kafkaUi.acls)) -}}
{{- $_ := set $peers "kafka" (append $peers.kafka "kafka-ui") -}}
{{- end -}}
{{- if $v.ui.pgadmin.enabled -}}
{{- $_ := set $peers "postgres" (append $peers.postgres "pgadmin") -}}
{{- end -}}
{{- $topics := list -}}
{{- $env := dict -}}
{{- $buckets := values $v.minio.buckets | sortAlpha -}}
{{- $flinkJobs := list -}}
{{- $enabled := list -}}
{{- $databases := list -}}
{{- $replications := list -}}
{{- $connects := list -}}
{{- $dbGenerated := dict -}}
{{- range $pname, $p := $v.pipelines -}}
{{- range $key, $t := $p.topics -}}
{{- with $t.env -}}
{{- $_ := set $env . $t.name -}}
{{- end -}}
{{- if $p.enabled -}}
{{- $topics = append $topics (dict "name" $t.name "partitions" $t.partitions "retentionHours" $t.retentionHours) -}}
{{- end -}}
{{- end -}}
{{- range $key, $b := $p.buckets -}}
{{- $_ := set $env $b.env $b.name -}}
{{- if not (has $b.name $buckets) -}}
{{- $buckets = append $buckets $b.name -}}
{{- end -}}
{{- end -}}
{{- with $p.connect -}}
{{- $_ := set $env .connector.topicPrefixEnv .connector.topicPrefix -}}
{{- end -}}
{{- if $p.enabled -}}
{{- $enabled = append $enabled $pname -}}
{{- range $name, $u := $p.kafkaUsers -}}
{{- $acls := list -}}
{{- if hasKey $users $name -}}
{{- $acls = (get $users $name).acls -}}
{{- end -}}
{{- $_ := set $users $name (dict "acls" (concat $acls $u.acls)) -}}
{{- end -}}
{{- range $wname, $w := $p.workloads -}}
{{- if hasKey $workloads $wname -}}
{{- fail (printf "pipelines.%s.workloads.%s: another pipeline or the platform already has a workload %s" $pname $wname $wname) -}}
{{- end -}}
{{- $_ := set $workloads $wname $w -}}
{{- end -}}
{{- range $key, $d := $p.databases -}}
{{- $cluster := printf "brook-%s-%s" $pname $key -}}
{{- $readers := list -}}
{{- range $wname, $w := $p.workloads -}}
{{- if has $key ($w.databases | default list) -}}
{{- $readers = append $readers $wname -}}
{{- $g := get $dbGenerated $wname | default dict -}}
{{- $_ := set $g (printf "%s_PG_PASSWORD" $d.env) (printf "%s-%s-password" $pname $key) -}}
{{- $_ := set $dbGenerated $wname $g -}}
{{- end -}}
{{- end -}}
{{- if and $p.connect (eq ($p.connect.database | default "") $key) -}}
{{- $readers = append $readers (printf "%s-connect" $pname) -}}
{{- end -}}
{{- $_ := set $env (printf "%s_PG_HOST" $d.env) (printf "%s-rw" $cluster) -}}
{{- $_ := set $env (printf "%s_PG_PORT" $d.env) (include "brook.postgres.port" $) -}}
{{- $_ := set $env (printf "%s_PG_DATABASE" $d.env) $d.database -}}
{{- $_ := set $env (printf "%s_PG_USER" $d.env) $d.owner -}}
{{- $_ := set $env (printf "%s_PG_SSLMODE" $d.env) "require" -}}
{{- $_ := set $env (printf "%s_PG_SCHEMA" $d.env) "public" -}}
{{- $databases = append $databases (merge (dict "cluster" $cluster "pipeline" $pname "key" $key "passwordKey" (printf "%s-%s-password" $pname $key) "readers" ($readers | sortAlpha)) (deepCopy $d)) -}}
{{- end -}}
{{- with $p.replication -}}
{{- if not (and (hasKey $p.databases .from) (or (not .to) (hasKey $p.databases (.to | default "")))) -}}
{{- fail (printf "pipelines.%s.replication: from (and to, when set) must name its databases" $pname) -}}
{{- end -}}
{{- $sub := dict "subscriber" "" "subscriberDatabase" "" -}}
{{- if .to -}}
{{- $sub = dict "subscriber" (printf "brook-%s-%s" $pname .to) "subscriberDatabase" (get $p.databases .to).database -}}
{{- end -}}
{{- $replications = append $replications (merge $sub (dict "pipeline" $pname "publisher" (printf "brook-%s-%s" $pname .from) "roleKey" (printf "%s-replication-password" $pname) "publisherDatabase" (get $p.databases .from).database) (deepCopy .)) -}}
{{- end -}}
{{- with $p.connect -}}
{{- if not (hasKey ($p.databases | default dict) .database) -}}
{{- fail (printf "pipelines.%s.connect.database: %q is not one of its databases" $pname .database) -}}
{{- end -}}
{{- $_ := set $peers "kafka" (append $peers.kafka (printf "%s-connect" $pname)) -}}
{{- $connects = append $connects (merge (dict "pipeline" $pname "name" (printf "brook-%s-connect" $pname) "component" (printf "%s-connect" $pname) "cluster" (printf "brook-%s-%s" $pname .database) "databaseName" (get $p.databases .database).database) (deepCopy .)) -}}
{{- end -}}
{{- range $p.flinkJobs -}}
{{- $flinkJobs = append $flinkJobs (dict "name" (printf "%s-%s" $pname (. | replace "_" "-")) "module" (printf "jobs.%s.flink.%s" $pname .)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $audits := list -}}
{{- if hasKey $users "brook-audit" -}}
{{- if hasKey $workloads "audit" -}}
{{- fail "a pipeline has a workload named audit: the platform's conservation audit uses that component" -}}
{{- end -}}
{{- $_ := set $workloads "audit" (dict "kafkaUser" "brook-audit" "postgres" true "s3" true) -}}
{{- range $pname := $enabled -}}
{{- /* only pipelines granting brook-audit ACLs have a Kafka audit (cinema's runs on its own databases) */ -}}
{{- if hasKey ((get $v.pipelines $pname).kafkaUsers | default dict) "brook-audit" -}}
{{- $audits = append $audits (dict "name" $pname "module" (printf "jobs.%s.audit" $pname)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $secrets := dict -}}
{{- $deployments := list -}}
{{- $oneShots := list -}}
{{- $serviceAccounts := list -}}
{{- range $wname, $w := $workloads -}}
{{- $sname := $w.secret | default $wname -}}
{{- if not (hasKey $secrets $sname) -}}
{{- $_ := set $secrets $sname (dict "kafkaUser" "" "postgres" false "s3" false "generated" dict) -}}
{{- end -}}
{{- $s := get $secrets $sname -}}
{{- with $w.kafkaUser -}}
{{- if not (hasKey $users .) -}}
{{- fail (printf "workload %s: kafkaUser %s has no ACLs in any enabled pipelines.<name>.kafkaUsers or kafka.users" $wname .) -}}
{{- end -}}
{{- if and $s.kafkaUser (ne $s.kafkaUser .) -}}
{{- fail (printf "Secret brook-%s-env: workloads sharing it name two KafkaUsers (%s, %s)" $sname $s.kafkaUser .) -}}
{{- end -}}
{{- $_ := set $s "kafkaUser" . -}}
{{- $_ := set $peers "kafka" (append $peers.kafka $wname) -}}
{{- end -}}
{{- if $w.postgres -}}
{{- $_ := set $s "postgres" true -}}
{{- $_ := set $peers "postgres" (append $peers.postgres $wname) -}}
{{- end -}}
{{- if $w.s3 -}}
{{- $_ := set $s "s3" true -}}
{{- $_ := set $peers "minio" (append $peers.minio $wname) -}}
{{- end -}}
{{- range $var, $key := $w.generated -}}
{{- $_ := set $s.generated $var $key -}}
{{- end -}}
{{- range $var, $key := get $dbGenerated $wname | default dict -}}
{{- $_ := set $s.generated $var $key -}}
{{- end -}}
{{- with $w.deployment -}}
{{- $args := list "-m" .module -}}
{{- range $opt, $value := .options -}}
{{- $args = concat $args (list (printf "--%s" $opt) (toString $value)) -}}
{{- end -}}
{{- $run := dict "name" $wname "secret" $sname "args" $args "replicas" .replicas "env" (.env | default dict) "resources" .resources "kafka" (not (empty $w.kafkaUser)) "serve" (.serve | default dict) -}}
{{- if not .serve -}}{{- /* a server has no one-shot run */ -}}
{{- $oneShots = append $oneShots $run -}}
{{- end -}}
{{- if .enabled -}}
{{- $deployments = append $deployments $run -}}
{{- end -}}
{{- end -}}
{{- with $w.dagPod -}}
{{- $serviceAccounts = append $serviceAccounts (dict "name" .serviceAccount "component" $wname "secret" $sname) -}}
{{- end -}}
{{- end -}}
{{- range $name, $s := $secrets -}}
{{- if and (not $s.kafkaUser) (not $s.postgres) (not $s.s3) (not $s.generated) -}}
{{- fail (printf "Secret brook-%s-env would be empty: give its workload kafkaUser, postgres, s3 or generated" $name) -}}
{{- end -}}
{{- end -}}
{{- $out := dict "topics" $topics "env" $env "buckets" $buckets "users" $users "secrets" $secrets
  "deployments" $deployments "flinkJobs" $flinkJobs "serviceAccounts" $serviceAccounts
  "enabled" $enabled "audits" $audits "oneShots" $oneShots "databases" $databases "replications" $replications "connects" $connects
  "peers" (dict "kafka" ($peers.kafka | sortAlpha) "postgres" ($peers.postgres | sortAlpha) "minio" ($peers.minio | sortAlpha)) -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
Every key of brook-credentials, from every declared pipeline (enabled or not, so switching a pipeline off and on
keeps its passwords and generated keys): platform logins, kafka-<user> per KafkaUser, pipelines' generated.
*/}}
{{- define "brook.credentialKeys" -}}
{{- $v := .Values -}}
{{- $keys := list "pg-password" "minio-root-user" "minio-root-password" "pgadmin-password" "kafka-ui-password" "kafka-brook-ui" -}}
{{- range $name, $u := $v.kafka.users -}}
{{- $keys = append $keys (printf "kafka-%s" $name) -}}
{{- end -}}
{{- range $pname, $p := $v.pipelines -}}
{{- range $name, $u := $p.kafkaUsers -}}
{{- $keys = append $keys (printf "kafka-%s" $name) -}}
{{- end -}}
{{- range $wname, $w := $p.workloads -}}
{{- range $var, $key := $w.generated -}}
{{- $keys = append $keys $key -}}
{{- end -}}
{{- end -}}
{{- range $key, $d := $p.databases -}}
{{- $keys = append $keys (printf "%s-%s-password" $pname $key) -}}
{{- end -}}
{{- if $p.replication -}}
{{- $keys = append $keys (printf "%s-replication-password" $pname) -}}
{{- end -}}
{{- end -}}
{{- toYaml ($keys | uniq | sortAlpha) -}}
{{- end -}}
