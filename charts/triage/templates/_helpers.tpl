{{/*
Names. With release name "triage" the prefix is "triage", so the objects are named as the operator's
flag defaults expect (triage-operator, triage-sidecar-injector, triage-operator-tls) — though the
Deployment passes every name explicitly anyway.
*/}}
{{- define "triage.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "triage.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "triage.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The operator's Deployment, Service, ServiceAccount and RBAC objects. */}}
{{- define "triage.operatorName" -}}
{{- printf "%s-operator" (include "triage.fullname" .) }}
{{- end }}

{{- define "triage.serviceName" -}}
{{- include "triage.operatorName" . }}
{{- end }}

{{- define "triage.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "triage.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "triage.webhookName" -}}
{{- default (printf "%s-sidecar-injector" (include "triage.fullname" .)) .Values.webhook.name }}
{{- end }}

{{- define "triage.tlsSecretName" -}}
{{- default (printf "%s-operator-tls" (include "triage.fullname" .)) .Values.tls.secretName }}
{{- end }}

{{/* cert-manager objects: the serving Certificate (and its Secret), the CA Certificate (and its Secret), the Issuers. */}}
{{- define "triage.certificateName" -}}
{{- printf "%s-operator-serving" (include "triage.fullname" .) }}
{{- end }}
{{- define "triage.caName" -}}
{{- printf "%s-operator-ca" (include "triage.fullname" .) }}
{{- end }}

{{- define "triage.injectConfigName" -}}
{{- printf "%s-inject" (include "triage.fullname" .) }}
{{- end }}

{{/* The URL injected sidecars dial: the Service's https port (443), not the container port. */}}
{{- define "triage.operatorURL" -}}
{{- printf "https://%s.%s.svc:443" (include "triage.serviceName" .) .Release.Namespace }}
{{- end }}

{{- define "triage.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "triage.sidecarImage" -}}
{{- $repo := default .Values.image.repository .Values.sidecar.image.repository }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.sidecar.image.tag }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}

{{- define "triage.labels" -}}
helm.sh/chart: {{ include "triage.chart" . }}
{{ include "triage.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: triage
{{- end }}

{{- define "triage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "triage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
The injection settings file (operator/inject.ts InjectSettings, less operatorURL and caPEM, which the
operator fills in). tokenAudience is not a value: the operator's TokenReview checks the fixed audience
TOKEN_AUDIENCE of api/configStream.ts, so any other audience would lock every sidecar out.
*/}}
{{- define "triage.injectSettings" -}}
{{- $s := dict
  "image" (include "triage.sidecarImage" .)
  "imagePullPolicy" .Values.sidecar.image.pullPolicy
  "proxyPort" (int .Values.sidecar.proxyPort)
  "adminPort" (int .Values.sidecar.adminPort)
  "tokenAudience" "triage.dev/operator"
  "tokenExpirationSeconds" (int .Values.sidecar.tokenExpirationSeconds)
  "resources" (dict "requests" (default (dict) .Values.sidecar.resources.requests) "limits" (default (dict) .Values.sidecar.resources.limits))
  "logLevel" .Values.sidecar.logLevel
}}
{{- toPrettyJson $s }}
{{- end }}

{{/* Namespaces the webhook never calls for. */}}
{{- define "triage.excludedNamespaces" -}}
{{- toJson (uniq (concat (list .Release.Namespace "kube-system") .Values.webhook.excludeNamespaces)) }}
{{- end }}
