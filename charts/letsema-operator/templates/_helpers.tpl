{{- define "letsema-operator.labels" -}}
app.kubernetes.io/name: letsema-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "letsema-operator.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default "letsema-operator" -}}
{{- end -}}
