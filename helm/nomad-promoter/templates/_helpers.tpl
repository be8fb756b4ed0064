{{/* Chart name, overridable. */}}
{{- define "nomad-promoter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: release-chart, or the release name when it already holds the chart name. */}}
{{- define "nomad-promoter.fullname" -}}
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

{{- define "nomad-promoter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "nomad-promoter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nomad-promoter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "nomad-promoter.labels" -}}
helm.sh/chart: {{ include "nomad-promoter.chart" . }}
{{ include "nomad-promoter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "nomad-promoter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "nomad-promoter.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image reference: repository@digest when a digest is set, else repository:tag (tag defaults to appVersion). */}}
{{- define "nomad-promoter.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Whether NOMAD_TOKEN is set at all (clusters without ACLs need none). */}}
{{- define "nomad-promoter.hasToken" -}}
{{- if or .Values.nomad.token.value .Values.nomad.token.existingSecret -}}true{{- end -}}
{{- end -}}

{{- define "nomad-promoter.tokenSecretName" -}}
{{- default (printf "%s-token" (include "nomad-promoter.fullname" .)) .Values.nomad.token.existingSecret -}}
{{- end -}}

{{- define "nomad-promoter.tokenSecretKey" -}}
{{- if .Values.nomad.token.existingSecret -}}
{{- .Values.nomad.token.existingSecretKey -}}
{{- else -}}
token
{{- end -}}
{{- end -}}

{{- define "nomad-promoter.policiesConfigMapName" -}}
{{- default (printf "%s-policies" (include "nomad-promoter.fullname" .)) .Values.policies.existingConfigMap -}}
{{- end -}}

{{/* Pods to run: replicas, else 2 with HA and 1 without. Refuses more than one without HA. */}}
{{- define "nomad-promoter.replicas" -}}
{{- $replicas := .Values.replicas | default (ternary 2 1 .Values.ha.enabled) | int -}}
{{- if and (gt $replicas 1) (not .Values.ha.enabled) -}}
{{- fail (printf "replicas=%d needs ha.enabled=true: without the leader lock every replica would act on the same deployments. Set replicas=1, or enable HA (docs/ha.md)" $replicas) -}}
{{- end -}}
{{- $replicas -}}
{{- end -}}

{{/* The user's affinity; else, with more than one replica, pods preferably on different nodes. */}}
{{- define "nomad-promoter.affinity" -}}
{{- if .Values.affinity -}}
{{- toYaml .Values.affinity -}}
{{- else if gt (include "nomad-promoter.replicas" . | int) 1 -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "nomad-promoter.selectorLabels" . | nindent 12 }}
{{- end -}}
{{- end -}}
