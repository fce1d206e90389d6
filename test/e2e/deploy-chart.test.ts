/**
 * The Helm chart, rendered by real Helm (built from its Go module): lint for the defaults and every
 * ci/*-values.yaml, and the rendered manifests carry exactly the security context, mounts, env, probes
 * and RBAC the agent needs (docs/security.md).
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chartDir, helm, helmSkipReason, one, path, render, renderError, runHelm, type K8sObject } from './helpers/deploy-helm.js';

const skip = helmSkipReason() ?? false;
const ciValues = readdirSync(`${chartDir}/ci`).filter((f) => f.endsWith('-values.yaml')).sort();
/** The capabilities proven minimal in docs/security.md (test/e2e/deploy-capabilities.test.ts). */
const MINIMAL_CAPS = ['BPF', 'PERFMON', 'SYSLOG', 'SYS_PTRACE'];

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: unknown[];
  ports?: { name: string; containerPort: number }[];
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe?: unknown;
  readinessProbe?: unknown;
}

function agentContainer(objects: readonly K8sObject[]): Container {
  const containers = path(one(objects, 'DaemonSet'), 'spec.template.spec.containers') as Container[];
  assert.equal(containers.length, 1, 'one container in the agent pod');
  return containers[0]!;
}

describe('Helm chart charts/kdrop', { skip, timeout: 20 * 60_000 }, () => {
  before(async () => {
    await helm(); // may build helm from its Go module (minutes) on a fresh machine
  }, { timeout: 20 * 60_000 });

  it('helm lint --strict passes for the defaults', async () => {
    const res = await runHelm(['lint', '--strict', chartDir]);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('has a ci/ matrix', () => {
    assert.ok(ciValues.length >= 4, `ci values: ${ciValues.join(', ')}`);
  });

  for (const file of ciValues) {
    it(`helm lint --strict and helm template pass for ci/${file}`, async () => {
      const lint = await runHelm(['lint', '--strict', chartDir, '-f', `${chartDir}/ci/${file}`]);
      assert.equal(lint.code, 0, lint.stdout + lint.stderr);
      const { objects } = await render({ valuesFiles: [`${chartDir}/ci/${file}`] });
      one(objects, 'DaemonSet');
      for (const o of objects) {
        assert.ok(o.apiVersion && o.kind && o.metadata.name, `incomplete object ${JSON.stringify(o).slice(0, 200)}`);
      }
    });
  }

  describe('default values', () => {
    let objects: K8sObject[] = [];
    before(async () => {
      objects = (await render()).objects;
    });

    it('renders the expected set of objects (no ServiceMonitor, no dashboard by default)', () => {
      const kinds = objects.map((o) => o.kind).sort();
      assert.deepEqual(kinds, ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'Pod', 'Service', 'ServiceAccount']);
    });

    it('is not privileged: drop ALL, add exactly the minimal capabilities, read-only root, no escalation', () => {
      const sc = agentContainer(objects).securityContext ?? {};
      assert.equal(sc['privileged'], false);
      assert.equal(sc['allowPrivilegeEscalation'], false);
      assert.equal(sc['readOnlyRootFilesystem'], true);
      assert.equal(sc['runAsUser'], 0, 'uid 0: tracefs and bpffs are root-only');
      assert.deepEqual(path(sc, 'capabilities.drop'), ['ALL']);
      assert.deepEqual(path(sc, 'capabilities.add'), MINIMAL_CAPS);
      assert.equal(path(sc, 'seccompProfile.type'), 'RuntimeDefault');
    });

    it('says next to every added capability which kernel check needs it', async () => {
      const { yaml } = await render();
      for (const cap of MINIMAL_CAPS) {
        assert.match(yaml, new RegExp(`# ${cap}: \\S.*\\n\\s+- ${cap}\\n`), `comment above ${cap}`);
      }
    });

    it('uses the host PID namespace but not the host network', () => {
      const spec = path(one(objects, 'DaemonSet'), 'spec.template.spec') as Record<string, unknown>;
      assert.equal(spec['hostPID'], true);
      assert.equal(spec['hostNetwork'], false);
    });

    it("mounts tracefs, only kdrop's own bpffs directory, the host's net devices read-only, an in-memory /tmp, and no other host path", async () => {
      const spec = path(one(objects, 'DaemonSet'), 'spec.template.spec') as { volumes: Record<string, unknown>[] };
      const hostPaths = spec.volumes.filter((v) => v['hostPath'] !== undefined).map((v) => path(v, 'hostPath.path'));
      assert.deepEqual(hostPaths, ['/sys/kernel/tracing', '/sys/fs/bpf/kdrop', '/sys/class/net', '/sys/devices'], 'not the whole bpffs, not all of /sys');
      // The node's NICs: the pod's own /sys shows only its netns; the host's class/net (and the device tree
      // its links point into) read-only under the directory KDROP_NIC_SYS_PATH names.
      const nicSys = (agentContainer(objects).env ?? []).find((e) => e.name === 'KDROP_NIC_SYS_PATH')?.value;
      assert.equal(nicSys, '/host/sys');
      for (const [host, inPod] of [['/sys/class/net', '/host/sys/class/net'], ['/sys/devices', '/host/sys/devices']] as const) {
        const vol = spec.volumes.find((v) => path(v, 'hostPath.path') === host);
        const m = (agentContainer(objects).volumeMounts ?? []).find((x) => x.name === vol?.['name']);
        assert.equal(m?.mountPath, inPod, host);
        assert.equal(m?.readOnly, true, `${host} read-only`);
      }
      // With hostNetwork the pod's own /sys is the host's netns view: nothing more is mounted.
      const { objects: hostNet } = await render({ set: ['hostNetwork=true'] });
      const hnSpec = path(one(hostNet, 'DaemonSet'), 'spec.template.spec') as { volumes: Record<string, unknown>[] };
      assert.deepEqual(hnSpec.volumes.filter((v) => v['hostPath'] !== undefined).map((v) => path(v, 'hostPath.path')), ['/sys/kernel/tracing', '/sys/fs/bpf/kdrop']);
      assert.equal((agentContainer(hostNet).env ?? []).some((e) => e.name === 'KDROP_NIC_SYS_PATH'), false);
      const bpffs = spec.volumes.find((v) => path(v, 'hostPath.path') === '/sys/fs/bpf/kdrop');
      assert.equal(path(bpffs, 'hostPath.type'), 'DirectoryOrCreate', 'the kubelet makes kdrop/ on a fresh node');
      const pinMount = (agentContainer(objects).volumeMounts ?? []).find((m) => m.name === bpffs?.['name']);
      assert.ok(pinMount, 'the kdrop/ directory is mounted');
      assert.equal(pinMount.readOnly, undefined, 'the probe pins there');
      assert.ok(!pinMount.mountPath.startsWith('/sys/'), `outside the read-only /sys: ${pinMount.mountPath}`);
      const env = agentContainer(objects).env ?? [];
      assert.equal(env.find((e) => e.name === 'KDROP_PIN_ROOT')?.value, pinMount.mountPath, 'the loader is told to pin there');
      const mounts = agentContainer(objects).volumeMounts ?? [];
      const byPath = new Map(mounts.map((m) => [m.mountPath, m]));
      assert.ok(byPath.has('/sys/kernel/tracing'));
      assert.equal(byPath.get('/sys/kernel/tracing')?.readOnly, false, 'source auto may fall back to tracefs, which writes an instance');
      const tmp = spec.volumes.find((v) => v['name'] === byPath.get('/tmp')?.name);
      assert.equal(path(tmp, 'emptyDir.medium'), 'Memory');
    });

    it('gets NODE_NAME from the downward API (spec.nodeName)', () => {
      const env = agentContainer(objects).env ?? [];
      const node = env.find((e) => e.name === 'NODE_NAME');
      assert.deepEqual(node?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
    });

    it('runs `kdrop agent` with the Prometheus port from values, and probes /healthz and /readyz on it', () => {
      const c = agentContainer(objects);
      assert.equal(c.args?.[0], 'agent');
      assert.ok(c.args?.includes('--metrics-address=0.0.0.0:9464'), String(c.args));
      assert.ok(!c.args?.some((a) => a.startsWith('--otlp-endpoint')), 'no OTLP endpoint by default');
      assert.deepEqual(c.ports, [{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
      assert.deepEqual(path(c.livenessProbe, 'httpGet'), { path: '/healthz', port: 'metrics' });
      assert.deepEqual(path(c.readinessProbe, 'httpGet'), { path: '/readyz', port: 'metrics' });
    });

    it('runs on every Linux node, with a grace period for the final export', () => {
      const spec = path(one(objects, 'DaemonSet'), 'spec.template.spec') as Record<string, unknown>;
      assert.deepEqual(spec['tolerations'], [{ operator: 'Exists' }]);
      assert.deepEqual(spec['nodeSelector'], { 'kubernetes.io/os': 'linux' });
      assert.ok((spec['terminationGracePeriodSeconds'] as number) >= 30);
    });

    it('RBAC: pods get/list/watch only, bound to the agent ServiceAccount', () => {
      const role = one(objects, 'ClusterRole');
      assert.deepEqual(role['rules'], [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
      const binding = one(objects, 'ClusterRoleBinding');
      const sa = one(objects, 'ServiceAccount');
      const ds = one(objects, 'DaemonSet');
      assert.equal(path(binding, 'roleRef.name'), role.metadata.name);
      assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'kdrop-system' }]);
      assert.equal(path(ds, 'spec.template.spec.serviceAccountName'), sa.metadata.name);
    });

    it('the Service selects the agent pods on the metrics port', () => {
      const svc = one(objects, 'Service');
      const podLabels = path(one(objects, 'DaemonSet'), 'spec.template.metadata.labels') as Record<string, string>;
      const selector = path(svc, 'spec.selector') as Record<string, string>;
      for (const [k, v] of Object.entries(selector)) assert.equal(podLabels[k], v, `pod label ${k}`);
      assert.deepEqual(path(svc, 'spec.ports'), [{ name: 'metrics', port: 9464, targetPort: 'metrics', protocol: 'TCP' }]);
      assert.deepEqual(path(one(objects, 'DaemonSet'), 'spec.selector.matchLabels'), selector);
    });

    it('has a helm test hook that checks the agent through the Service, without privileges', () => {
      const pod = one(objects, 'Pod');
      assert.equal(pod.metadata.annotations?.['helm.sh/hook'], 'test');
      assert.equal(path(pod, 'spec.securityContext.runAsNonRoot'), true);
      assert.deepEqual(path(pod, 'spec.containers.0.securityContext.capabilities.drop'), ['ALL']);
      assert.match(JSON.stringify(path(pod, 'spec.containers.0.env')), /kdrop\.kdrop-system\.svc:9464/);
      // Without cluster DNS: the Service's address from kubelet's service links (KDROP_SERVICE_HOST).
      const env = path(pod, 'spec.containers.0.env') as { name: string; value?: string }[];
      assert.equal(env.find((e) => e.name === 'KDROP_SERVICE_ENV')?.value, 'KDROP');
      assert.equal(env.find((e) => e.name === 'KDROP_SERVICE_PORT_NUMBER')?.value, '9464');
    });
  });

  it('the config checksum annotation changes when the agent environment changes', async () => {
    const sum = async (set: string[]): Promise<string> => {
      const { objects } = await render({ set });
      const v = path(one(objects, 'DaemonSet'), 'spec.template.metadata.annotations.checksum/config');
      assert.match(String(v), /^[0-9a-f]{64}$/);
      return String(v);
    };
    const a = await sum([]);
    assert.equal(await sum([]), a, 'stable');
    assert.notEqual(await sum(['agent.logLevel=debug']), a);
    assert.notEqual(await sum(['agent.config.interval=10s']), a);
  });

  it('privileged=true gives a privileged container without a capability list', async () => {
    const { objects } = await render({ set: ['privileged=true'] });
    const sc = agentContainer(objects).securityContext ?? {};
    assert.equal(sc['privileged'], true);
    assert.equal(sc['capabilities'], undefined);
    assert.equal(sc['readOnlyRootFilesystem'], true);
  });

  it('ci/full-values.yaml: OTLP, pinned digest, read-only tracefs for the bpf source, ServiceMonitor, PrometheusRule and dashboard', async () => {
    const { objects } = await render({ valuesFiles: [`${chartDir}/ci/full-values.yaml`] });
    const c = agentContainer(objects);
    assert.ok(c.args?.includes('--otlp-endpoint=http://otel-collector.observability.svc:4317'), String(c.args));
    assert.ok(c.args?.includes('--otlp-protocol=grpc'));
    assert.ok(c.args?.includes('--metrics-address=0.0.0.0:9500'));
    assert.ok(c.args?.includes('--config=/etc/kdrop/config.json'));
    assert.equal(path(one(objects, 'DaemonSet'), 'spec.template.spec.containers.0.image'), 'registry.example.com/kdrop@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef');
    assert.equal(c.volumeMounts?.find((m) => m.mountPath === '/sys/kernel/tracing')?.readOnly, true);
    assert.equal(path(one(objects, 'DaemonSet'), 'spec.template.spec.priorityClassName'), 'system-node-critical');

    const sm = one(objects, 'ServiceMonitor');
    assert.equal(path(sm, 'spec.endpoints.0.port'), 'metrics');
    assert.equal(sm.metadata.labels?.['release'], 'prometheus');

    const rule = one(objects, 'PrometheusRule');
    assert.equal(rule.metadata.labels?.['release'], 'prometheus');
    const alerts = (path(rule, 'spec.groups.0.rules') as { alert: string; expr: string }[]);
    assert.match(alerts.find((a) => a.alert === 'KdropPodErrorDrops')?.expr ?? '', /kdrop_reason_class="error".*> 0\.5$/);

    const dash = one(objects, 'ConfigMap', 'kdrop-dashboard');
    assert.equal(dash.metadata.labels?.['grafana_dashboard'], '1');
    assert.equal(dash.metadata.namespace, 'monitoring');
    const json = JSON.parse((dash['data'] as Record<string, string>)['kdrop.json'] ?? '') as { panels: { targets: { expr: string }[] }[] };
    const exprs = json.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    assert.match(exprs, /kdrop_packet_drops_total/);
    // The kernel drop counters' panel (listen overflows per pod, interface, NIC and conntrack drops).
    for (const m of ['kdrop_tcp_listen_overflows_total', 'system_network_packet_dropped_total', 'kdrop_nic_drops_total', 'kdrop_conntrack_insert_failed_total']) assert.match(exprs, new RegExp(m));
    for (const label of ['kdrop_reason', 'kdrop_reason_class', 'kdrop_function', 'k8s_namespace_name', 'k8s_pod_name']) {
      assert.match(exprs, new RegExp(`sum by \\([^)]*${label}`), `a panel grouped by ${label}`);
    }
  });

  it('ci/minimal-values.yaml: an existing ServiceAccount, no RBAC, no Service, no test pod', async () => {
    const { objects } = await render({ valuesFiles: [`${chartDir}/ci/minimal-values.yaml`] });
    assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'DaemonSet']);
    assert.equal(path(one(objects, 'DaemonSet'), 'spec.template.spec.serviceAccountName'), 'kdrop-agent');
  });

  it('ci/full-values.yaml: the kubectl kdrop user role (pods get/list, pods/proxy get) bound in the release namespace only; the samples API with its trusted proxies', async () => {
    const { objects } = await render({ valuesFiles: [`${chartDir}/ci/full-values.yaml`] });
    const role = one(objects, 'ClusterRole', 'kdrop-user');
    assert.deepEqual(role['rules'], [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['pods/proxy'], verbs: ['get'] },
    ]);
    const binding = one(objects, 'RoleBinding', 'kdrop-user');
    assert.equal(binding.metadata.namespace, 'kdrop-system');
    assert.deepEqual(binding['roleRef'], { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kdrop-user' });
    assert.deepEqual(binding['subjects'], [{ kind: 'Group', name: 'sre', apiGroup: 'rbac.authorization.k8s.io' }]);
    const args = agentContainer(objects).args ?? [];
    assert.ok(args.includes('--samples-api') && args.includes('--samples-api-trusted-proxies=10.0.0.10,10.0.1.0/24'), args.join(' '));
    // Off by default: no user role, no samples API.
    const defaults = (await render()).objects;
    assert.equal(defaults.filter((o) => o.kind === 'RoleBinding' || o.metadata.name === 'kdrop-user').length, 0);
    assert.ok(!(agentContainer(defaults).args ?? []).includes('--samples-api'));
  });

  it('agent.counters: false passes --no-counters; the default reads the counters', async () => {
    assert.ok(!(agentContainer((await render()).objects).args ?? []).includes('--no-counters'));
    const off = agentContainer((await render({ set: ['agent.counters=false'] })).objects).args ?? [];
    assert.ok(off.includes('--no-counters'), off.join(' '));
    assert.match(await renderError({ set: ['agent.counters=maybe'] }), /counters/);
  });

  it('values.schema.json rejects bad values', async () => {
    assert.match(await renderError({ set: ['agent.source=ebpf'] }), /source/);
    assert.match(await renderError({ set: ['agent.otlp.protocol=udp'] }), /protocol/);
    assert.match(await renderError({ set: ['privileged=maybe'] }), /privileged/);
    assert.match(await renderError({ set: ['capabilities.add[0]=all'] }), /add/);
    assert.match(await renderError({ set: ['agent.metricsPort=70000'] }), /metricsPort/);
    assert.match(await renderError({ set: ['nosuchkey=1'] }), /nosuchkey/);
    assert.match(await renderError({ set: ['prometheusRule.pod.errorDropsPerSecond=0'] }), /errorDropsPerSecond/);
    assert.match(await renderError({ set: ['prometheusRule.notSpecified.growthFactor=1'] }), /growthFactor/);
    assert.match(await renderError({ set: ['prometheusRule.rateWindow=5 minutes'] }), /rateWindow/);
  });

  it('documents every key of values.yaml with a `# --` comment (itself or an ancestor)', () => {
    const lines = readFileSync(`${chartDir}/values.yaml`, 'utf8').split('\n');
    const stack: { indent: number; documented: boolean }[] = [];
    const undocumented: string[] = [];
    let comment: string[] = [];
    let inList = -1;
    for (const line of lines) {
      if (/^\s*#/.test(line)) {
        comment.push(line.trim());
        continue;
      }
      if (line.trim() === '') {
        comment = [];
        continue;
      }
      const indent = line.length - line.trimStart().length;
      if (inList >= 0 && indent > inList) continue; // inside a list's items
      inList = -1;
      const m = /^(\s*)([A-Za-z_][\w.-]*):(.*)$/.exec(line);
      if (!m) {
        if (line.trimStart().startsWith('- ')) continue;
        comment = [];
        continue;
      }
      while (stack.length > 0 && stack.at(-1)!.indent >= indent) stack.pop();
      const documented = comment.some((c) => c.startsWith('# --')) || stack.some((s) => s.documented);
      if (!documented && m[3]!.trim() !== '') undocumented.push(m[2]!);
      stack.push({ indent, documented });
      comment = [];
      if (m[3]!.trim() === '') inList = -1;
      // a key followed by list items: skip the items
      const next = lines[lines.indexOf(line) + 1] ?? '';
      if (next.trimStart().startsWith('- ')) inList = indent;
    }
    assert.deepEqual(undocumented, []);
  });
  describe('auth.enabled and networkPolicy.enabled (ci/auth-values.yaml)', () => {
    let objects: K8sObject[] = [];
    before(async () => {
      objects = (await render({ valuesFiles: [`${chartDir}/ci/auth-values.yaml`] })).objects;
    });

    it('the agent serves HTTPS with Kubernetes authentication, from the mounted Secret; the probes use HTTPS', () => {
      const c = agentContainer(objects);
      const args = c.args ?? [];
      assert.ok(args.includes('--auth=kubernetes'), args.join(' '));
      const cert = args.find((a) => a.startsWith('--tls-cert-file='))?.split('=')[1] ?? '';
      const key = args.find((a) => a.startsWith('--tls-key-file='))?.split('=')[1] ?? '';
      const spec = path(one(objects, 'DaemonSet'), 'spec.template.spec') as { volumes: Record<string, unknown>[] };
      const mount = (c.volumeMounts ?? []).find((m) => cert.startsWith(`${m.mountPath}/`) && key.startsWith(`${m.mountPath}/`));
      assert.ok(mount, `certificate and key under one mount: ${cert}, ${key}`);
      assert.equal(mount.readOnly, true);
      const secretName = path(spec.volumes.find((v) => v['name'] === mount.name), 'secret.secretName');
      assert.equal(secretName, 'kdrop-tls');
      for (const probe of [c.livenessProbe, c.readinessProbe]) assert.equal(path(probe, 'httpGet.scheme'), 'HTTPS');
    });

    it("Helm's self-signed certificate is valid for the Service's DNS name and signed by the ca.crt clients get", () => {
      const secret = one(objects, 'Secret', 'kdrop-tls');
      const data = secret['data'] as Record<string, string>;
      const cert = new X509Certificate(Buffer.from(data['tls.crt']!, 'base64'));
      const ca = new X509Certificate(Buffer.from(data['ca.crt']!, 'base64'));
      assert.equal(cert.checkHost('kdrop.kdrop-system.svc'), 'kdrop.kdrop-system.svc');
      assert.ok(cert.verify(ca.publicKey), 'signed by ca.crt');
      assert.ok(cert.checkPrivateKey(createPrivateKey(Buffer.from(data['tls.key']!, 'base64'))), 'the key matches');
    });

    it('RBAC: the agent may create TokenReviews and SubjectAccessReviews; readers get /metrics and drops.kdrop.dev (the drops API), bound as configured', () => {
      const agentRole = one(objects, 'ClusterRole', 'kdrop');
      assert.deepEqual(agentRole['rules'], [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
      ]);
      const reader = one(objects, 'ClusterRole', 'kdrop-reader');
      assert.deepEqual(reader['rules'], [
        { nonResourceURLs: ['/metrics'], verbs: ['get'] },
        { apiGroups: ['kdrop.dev'], resources: ['drops'], verbs: ['get'] },
      ]);
      const binding = one(objects, 'ClusterRoleBinding', 'kdrop-reader');
      assert.equal(path(binding, 'roleRef.name'), 'kdrop-reader');
      assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: 'prometheus-k8s', namespace: 'monitoring' }]);
    });

    it('the ServiceMonitor scrapes over HTTPS with its token, verifying the certificate for the Service name', () => {
      const ep = path(one(objects, 'ServiceMonitor'), 'spec.endpoints.0');
      assert.equal(path(ep, 'scheme'), 'https');
      assert.equal(path(ep, 'bearerTokenFile'), '/var/run/secrets/kubernetes.io/serviceaccount/token');
      assert.equal(path(ep, 'tlsConfig.serverName'), 'kdrop.kdrop-system.svc');
      assert.deepEqual(path(ep, 'tlsConfig.ca.secret'), { name: 'kdrop-tls', key: 'ca.crt' });
    });

    it('the NetworkPolicy admits only the listed peers and the helm test pod to the metrics port', () => {
      const np = one(objects, 'NetworkPolicy');
      assert.deepEqual(path(np, 'spec.podSelector.matchLabels'), path(one(objects, 'DaemonSet'), 'spec.selector.matchLabels'));
      assert.deepEqual(path(np, 'spec.policyTypes'), ['Ingress']);
      assert.deepEqual(path(np, 'spec.ingress.0.ports'), [{ port: 'metrics', protocol: 'TCP' }]);
      const from = path(np, 'spec.ingress.0.from') as unknown[];
      assert.deepEqual(from[0], { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } });
      assert.deepEqual(path(from[1], 'podSelector.matchLabels'), { 'app.kubernetes.io/instance': 'kdrop', 'app.kubernetes.io/component': 'test' });
    });

    it('refuses a NetworkPolicy without peers, and both a Secret and cert-manager', async () => {
      assert.match(await renderError({ set: ['networkPolicy.enabled=true'] }), /networkPolicy.from: list who may reach the metrics port/);
      assert.match(await renderError({ set: ['auth.enabled=true', 'auth.tls.secretName=x', 'auth.tls.certManager.enabled=true'] }), /either secretName .* or certManager.enabled/);
    });

    it('cert-manager issues the certificate into the Secret the agents mount', async () => {
      const { objects: o } = await render({ set: ['auth.enabled=true', 'auth.tls.certManager.enabled=true', 'auth.tls.certManager.issuerRef.name=ca', 'auth.tls.certManager.issuerRef.kind=ClusterIssuer'] });
      const cert = one(o, 'Certificate');
      assert.equal(path(cert, 'spec.secretName'), 'kdrop-tls');
      assert.deepEqual(path(cert, 'spec.issuerRef'), { name: 'ca', kind: 'ClusterIssuer' });
      assert.ok((path(cert, 'spec.dnsNames') as string[]).includes('kdrop.kdrop-system.svc'));
      assert.equal(o.filter((x) => x.kind === 'Secret').length, 0, 'no self-signed Secret');
      const { objects: own } = await render({ set: ['auth.enabled=true', 'auth.tls.secretName=my-tls'] });
      assert.equal(own.filter((x) => x.kind === 'Secret' || x.kind === 'Certificate').length, 0);
      const vols = path(one(own, 'DaemonSet'), 'spec.template.spec.volumes') as Record<string, unknown>[];
      assert.ok(vols.some((v) => path(v, 'secret.secretName') === 'my-tls'));
    });
  });
});

