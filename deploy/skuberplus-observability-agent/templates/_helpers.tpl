{{/* Names are fixed by the product guide: `kubectl get pods` shows skuber-otel-agent-xxxxx etc. */}}

{{- define "skuber.chart" -}}
{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object of a component; call with (dict "ctx" $ "name" "skuber-otel-agent"). */}}
{{- define "skuber.labels" -}}
helm.sh/chart: {{ include "skuber.chart" .ctx }}
{{ include "skuber.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: skuberplus-observability
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end }}

{{- define "skuber.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- end }}

{{- define "skuber.image" -}}
{{ printf "%s:%s" .Values.image.repository (toString (default .Chart.AppVersion .Values.image.tag)) | quote }}
{{- end }}

{{/* The agents' TLS choice: skuber-otel-agent.otelInsecure when set, else global.otelInsecure. */}}
{{- define "skuber.insecure" -}}
{{- $agent := index .Values "skuber-otel-agent" -}}
{{- if kindIs "bool" $agent.otelInsecure -}}{{ $agent.otelInsecure }}{{- else -}}{{ .Values.global.otelInsecure }}{{- end -}}
{{- end }}

{{/* Quantity (512Mi, 1Gi, 600M, 1e9...) -> whole MiB. */}}
{{- define "skuber.memMiB" -}}
{{- $q := toString . -}}
{{- if hasSuffix "Gi" $q -}}{{ mulf (float64 (trimSuffix "Gi" $q)) 1024 | floor | int }}
{{- else if hasSuffix "Mi" $q -}}{{ float64 (trimSuffix "Mi" $q) | floor | int }}
{{- else if hasSuffix "Ki" $q -}}{{ divf (float64 (trimSuffix "Ki" $q)) 1024 | floor | int }}
{{- else if hasSuffix "G" $q -}}{{ divf (mulf (float64 (trimSuffix "G" $q)) 1000000000) 1048576 | floor | int }}
{{- else if hasSuffix "M" $q -}}{{ divf (mulf (float64 (trimSuffix "M" $q)) 1000000) 1048576 | floor | int }}
{{- else if hasSuffix "k" $q -}}{{ divf (mulf (float64 (trimSuffix "k" $q)) 1000) 1048576 | floor | int }}
{{- else -}}{{ divf (float64 $q) 1048576 | floor | int }}
{{- end -}}
{{- end }}

{{/* memory_limiter from the container's memory limit, as GOMEMLIMIT would be set: refuse data
     at 80% of the limit, with a 25% spike allowance below that. Call with the resources dict. */}}
{{- define "skuber.memoryLimiter" -}}
{{- $limit := include "skuber.memMiB" (required "resources.limits.memory is required" .limits.memory) | int -}}
{{- $hard := div (mul $limit 80) 100 -}}
memory_limiter:
  check_interval: 1s
  limit_mib: {{ $hard }}
  spike_limit_mib: {{ div (mul $hard 25) 100 }}
{{- end }}

{{- define "skuber.gatewayEndpoint" -}}
{{ required "skuber-otel-agent.otelCollectorEndpoint is required: the gateway's OTLP gRPC endpoint, <gw-ip>:4317" (index .Values "skuber-otel-agent").otelCollectorEndpoint }}
{{- end }}

{{/* The OTLP gRPC exporter to the gateway, shared by every role that sends. */}}
{{- define "skuber.otlpExporter" -}}
otlp:
  endpoint: {{ include "skuber.gatewayEndpoint" . | quote }}
  tls:
    insecure: {{ include "skuber.insecure" . }}
    insecure_skip_verify: {{ (index .Values "skuber-otel-agent").insecureSkipVerify }}
  retry_on_failure:
    enabled: true
  sending_queue:
    enabled: true
    queue_size: 1000
{{- end }}

{{/* Cluster identity on every resource: the values of the guide's --set global.* keys. */}}
{{- define "skuber.resourceProcessor" -}}
resource:
  attributes:
    - key: k8s.cluster.name
      value: {{ .Values.global.clusterName | quote }}
      action: upsert
    {{- if .Values.global.deploymentEnvironment }}
    - key: deployment.environment.name
      value: {{ .Values.global.deploymentEnvironment | quote }}
      action: upsert
    {{- end }}
{{- end }}

{{- define "skuber.healthCheck" -}}
health_check:
  endpoint: 0.0.0.0:13133
{{- end }}

{{- define "skuber.serviceTelemetry" -}}
telemetry:
  metrics:
    address: 0.0.0.0:8888
  logs:
    level: info
{{- end }}

{{/* Probes on the health_check extension. */}}
{{- define "skuber.probes" -}}
livenessProbe:
  httpGet: {path: /, port: health}
  initialDelaySeconds: 10
  periodSeconds: 15
readinessProbe:
  httpGet: {path: /, port: health}
  initialDelaySeconds: 5
  periodSeconds: 10
{{- end }}

{{/* Non-root, read-only root filesystem, no capabilities: every role but the APM agent. */}}
{{- define "skuber.restrictedSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Downward-API env every collector gets. */}}
{{- define "skuber.podEnv" -}}
- name: K8S_NODE_NAME
  valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
- name: K8S_NODE_IP
  valueFrom: {fieldRef: {fieldPath: status.hostIP}}
- name: K8S_POD_NAME
  valueFrom: {fieldRef: {fieldPath: metadata.name}}
- name: K8S_POD_NAMESPACE
  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
{{- end }}

{{- define "skuber.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
