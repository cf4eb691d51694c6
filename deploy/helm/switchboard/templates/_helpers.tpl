{{/*
Names. The release "switchboard" gives the kustomize base's names:
switchboard, switchboard-internal, switchboard-redis, switchboard-cluster.
*/}}
{{- define "switchboard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "switchboard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A name derived from the full name: include "switchboard.sub" (list . "redis"). */}}
{{- define "switchboard.sub" -}}
{{- $ctx := index . 0 -}}
{{- printf "%s-%s" (include "switchboard.fullname" $ctx | trunc 50 | trimSuffix "-") (index . 1) -}}
{{- end -}}

{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchboard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "switchboard.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "switchboard.name" . }}-redis
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels every object carries besides its selector labels. */}}
{{- define "switchboard.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: switchboard
{{- end -}}

{{- define "switchboard.labels" -}}
{{ include "switchboard.selectorLabels" . }}
{{ include "switchboard.commonLabels" . }}
{{- end -}}

{{- define "switchboard.redisLabels" -}}
{{ include "switchboard.redisSelectorLabels" . }}
{{ include "switchboard.commonLabels" . }}
{{- end -}}

{{/* The listeners' ports, as in the base (and the image's EXPOSE). */}}
{{- define "switchboard.httpPort" -}}3000{{- end -}}
{{- define "switchboard.internalPort" -}}9090{{- end -}}

{{- define "switchboard.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "switchboard.clusterSecretName" -}}
{{- default (include "switchboard.sub" (list . "cluster")) .Values.clusterSecret.existingSecret -}}
{{- end -}}

{{/*
The cluster secret when the chart owns the Secret: the value given, else
the one the Secret in the cluster holds (so upgrades keep it), else a new
random one. Worked out once per render (kept in .Values._clusterSecret), so
that the Secret and the pods' checksum annotation agree.
*/}}
{{- define "switchboard.clusterSecretValue" -}}
{{- if not (hasKey .Values "_clusterSecret") -}}
{{- $v := .Values.clusterSecret.value -}}
{{- if not $v -}}
{{- $old := lookup "v1" "Secret" .Release.Namespace (include "switchboard.clusterSecretName" .) -}}
{{- if and $old $old.data (hasKey $old.data .Values.clusterSecret.key) -}}
{{- $v = index $old.data .Values.clusterSecret.key | b64dec -}}
{{- else -}}
{{- $v = randAlphaNum 64 -}}
{{- end -}}
{{- end -}}
{{- $_ := set .Values "_clusterSecret" $v -}}
{{- end -}}
{{- .Values._clusterSecret -}}
{{- end -}}

{{- define "switchboard.ingressClassName" -}}
{{- if .Values.ingress.className -}}
{{- .Values.ingress.className -}}
{{- else if eq .Values.ingress.provider "traefik" -}}
traefik
{{- else -}}
nginx
{{- end -}}
{{- end -}}

{{/*
Checks across values that the schema cannot express; each fails the render
with what to change.
*/}}
{{- define "switchboard.validate" -}}
{{- $d := .Values.drain -}}
{{- if lt (int .Values.terminationGracePeriodSeconds) (add $d.preStopSleepSeconds $d.shutdownGraceSeconds | int) -}}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be at least drain.preStopSleepSeconds + drain.shutdownGraceSeconds (%v + %v): Kubernetes would kill a node mid-drain" .Values.terminationGracePeriodSeconds $d.preStopSleepSeconds $d.shutdownGraceSeconds) -}}
{{- end -}}
{{- if ge (int $d.windowSeconds) (int $d.shutdownGraceSeconds) -}}
{{- fail (printf "drain.windowSeconds (%v) must be shorter than drain.shutdownGraceSeconds (%v)" $d.windowSeconds $d.shutdownGraceSeconds) -}}
{{- end -}}
{{- if and .Values.hpa.enabled (lt (int .Values.hpa.maxReplicas) (int .Values.hpa.minReplicas)) -}}
{{- fail (printf "hpa.maxReplicas (%v) is below hpa.minReplicas (%v)" .Values.hpa.maxReplicas .Values.hpa.minReplicas) -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.sticky) (not .Values.stickinessFree) -}}
{{- fail "ingress.sticky is false and stickinessFree is false: long-polling clients would get \"Session ID unknown\" from the pods that do not own their session; set stickinessFree: true (as the no-sticky overlay does) or ingress.sticky: true" -}}
{{- end -}}
{{- if and .Values.ingress.traefik.createIngressClass (ne .Values.ingress.provider "traefik") -}}
{{- fail "ingress.traefik.createIngressClass is for ingress.provider traefik" -}}
{{- end -}}
{{- $managed := list "SWITCHBOARD_NODE_NAME" "POD_IP" "SWITCHBOARD_LISTEN" "SWITCHBOARD_INTERNAL_LISTEN" "SWITCHBOARD_REDIS_URL" "SWITCHBOARD_CLUSTER_SECRET" "SWITCHBOARD_DRAIN_WINDOW" "SWITCHBOARD_SHUTDOWN_GRACE" "SWITCHBOARD_LOG_FORMAT" "SWITCHBOARD_RECOVERY" "SWITCHBOARD_RECOVERY_WINDOW" "SWITCHBOARD_STICKINESS_FREE" "SWITCHBOARD_ADVERTISE_ADDR" -}}
{{- range .Values.extraEnv -}}
{{- if has .name $managed -}}
{{- fail (printf "extraEnv sets %s, which the chart sets from its values (see values.yaml): set the value instead" .name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
