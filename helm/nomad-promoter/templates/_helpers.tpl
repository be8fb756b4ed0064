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
