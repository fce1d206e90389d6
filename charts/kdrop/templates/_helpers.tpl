{{/*
Chart name, truncated to the 63 characters a DNS label allows.
*/}}
{{- define "kdrop.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: release-chart, or the release name when it already contains the chart name.
*/}}
{{- define "kdrop.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, as used by the helm.sh/chart label.
*/}}
{{- define "kdrop.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "kdrop.labels" -}}
helm.sh/chart: {{ include "kdrop.chart" . }}
{{ include "kdrop.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: agent
app.kubernetes.io/part-of: kdrop
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels: stable across upgrades (a DaemonSet selector is immutable).
*/}}
{{- define "kdrop.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kdrop.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the ServiceAccount to use.
*/}}
{{- define "kdrop.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kdrop.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference: repository@digest when a digest is set, else repository:tag (tag defaults to appVersion).
*/}}
{{- define "kdrop.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) }}
{{- end }}
{{- end }}

{{/*
Why each capability is needed: the kernel check it satisfies. Rendered as comments next to the list.
*/}}
{{- define "kdrop.capabilityReasons" -}}
BPF: bpf(BPF_PROG_LOAD/BPF_MAP_CREATE) with kernel.unprivileged_bpf_disabled set needs bpf_capable()
PERFMON: tracing program types and perf_event_open()/BPF_RAW_TRACEPOINT_OPEN need perfmon_capable()
SYS_ADMIN: bpftrace walks kernel BTF objects (BPF_BTF_GET_NEXT_ID, BPF_BTF_GET_FD_BY_ID need CAP_SYS_ADMIN)
SYSLOG: /proc/kallsyms shows real addresses only with CAP_SYSLOG (kallsyms_show_value: kptr_restrict=1, or perf_event_paranoid>1)
SYS_PTRACE: readlink /proc/PID/ns/net of other containers needs ptrace_may_access(PTRACE_MODE_READ_FSCREDS)
SYS_RESOURCE: raise RLIMIT_MEMLOCK for BPF maps on kernels before 5.11 (memlock accounting)
DAC_READ_SEARCH: read host files that are not root-readable (not needed by default)
{{- end }}

{{/*
Agent arguments, following the CLI contract `kdrop agent [flags]`.
*/}}
{{- define "kdrop.args" -}}
- agent
- --interval={{ .Values.agent.interval }}
- --source={{ .Values.agent.source }}
- --metrics-address=0.0.0.0:{{ .Values.agent.metricsPort }}
{{- with .Values.agent.labels }}
- --labels={{ join "," . }}
{{- end }}
{{- if .Values.agent.otlp.endpoint }}
- --otlp-endpoint={{ .Values.agent.otlp.endpoint }}
- --otlp-protocol={{ .Values.agent.otlp.protocol }}
{{- end }}
{{- if .Values.agent.samplesApi.enabled }}
- --samples-api
- --samples-api-trusted-proxies={{ join "," .Values.agent.samplesApi.trustedProxies }}
{{- end }}
{{- if .Values.agent.config }}
- --config=/etc/kdrop/config.json
{{- end }}
{{- if .Values.auth.enabled }}
- --auth=kubernetes
- --tls-cert-file=/run/kdrop/tls/tls.crt
- --tls-key-file=/run/kdrop/tls/tls.key
- --auth-cache-ttl={{ .Values.auth.cacheTTL }}
{{- end }}
- --max-connections={{ .Values.agent.maxConnections }}
{{- if not .Values.agent.counters }}
- --no-counters
{{- end }}
{{- range .Values.agent.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/*
The Secret with the agents' serving certificate (tls.crt, tls.key; ca.crt when Helm or cert-manager made it).
*/}}
{{- define "kdrop.tlsSecretName" -}}
{{- .Values.auth.tls.secretName | default (printf "%s-tls" (include "kdrop.fullname" .)) }}
{{- end }}

{{/*
A probe from values with scheme HTTPS when the agent serves TLS (the kubelet does not verify the certificate).
*/}}
{{- define "kdrop.probe" -}}
{{- $probe := deepCopy .probe }}
{{- if and .root.Values.auth.enabled $probe.httpGet }}
{{- $_ := set $probe.httpGet "scheme" "HTTPS" }}
{{- end }}
{{- toYaml $probe }}
{{- end }}
