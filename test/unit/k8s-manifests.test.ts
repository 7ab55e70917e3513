import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GS_AGENT_OPTIONS, LB_BOOTSTRAP_OPTIONS, NODE_DRAIN_WATCHER_OPTIONS } from '../../clients/cli/specs';
import type { OptionSpecs } from '../../clients/cli/options';
import {
  allContainers,
  allObjects as all,
  findObject as find,
  K8S_DIR,
  kustomization,
  manifestFiles as files,
  podTemplates,
  restrictedViolations,
  type Json,
} from '../fixtures/k8s';

const container = (pod: Json, name: string) => allContainers(pod).find((c: Json) => c.name === name);
const envOf = (c: Json) => Object.fromEntries((c.env ?? []).map((e: Json) => [e.name, e.value ?? e.valueFrom]));
const knownEnv = (specs: OptionSpecs) => new Set(Object.values(specs).flatMap((spec) => (spec.env ? [spec.env] : [])).concat(['POD_IP']));
const readJson = (path: string) => JSON.parse(readFileSync(join(K8S_DIR, path), 'utf8'));
const NAMESPACES = ['game-servers', 'game-servers-node-drain'];

/** A podAffinityTerm whose selector selects the pods of `template` (the replaced sample's did not). */
function selectsOwnPods(term: Json, template: Json): boolean {
  const labels = template.metadata.labels as Record<string, string>;
  const wanted = term.labelSelector?.matchLabels ?? {};
  return Object.keys(wanted).length > 0 && Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

describe('deploy/k8s', () => {
  it('is valid YAML with apiVersion, kind, name and one of our namespaces on every object, all listed in kustomization.yaml', () => {
    for (const doc of all) {
      expect(doc.apiVersion, JSON.stringify(doc.metadata)).toMatch(/^(v1|apps\/v1)$/);
      expect(doc.metadata.name).toMatch(/^[a-z0-9-]+$/);
      if (doc.kind !== 'Namespace') expect(NAMESPACES, `${doc.kind}/${doc.metadata.name}`).toContain(doc.metadata.namespace);
    }
    expect(all.filter((doc) => doc.kind === 'Namespace').map((doc) => doc.metadata.name).sort()).toEqual(NAMESPACES);
    expect([...kustomization.resources].sort()).toEqual([...files].sort());
  });

  it('every Deployment and DaemonSet selects its own template, runs under an IRSA service account and sets a termination grace period', () => {
    for (const workload of all.filter((doc) => doc.kind === 'Deployment' || doc.kind === 'DaemonSet')) {
      const template = workload.spec.template;
      for (const [key, value] of Object.entries(workload.spec.selector.matchLabels)) expect(template.metadata.labels[key]).toBe(value);
      const account = find('ServiceAccount', template.spec.serviceAccountName, workload.metadata.namespace);
      expect(account.metadata.annotations['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::\d{12}:role\/.+/);
      expect(template.spec.terminationGracePeriodSeconds).toBeGreaterThan(0);
    }
  });

  it('game servers: anti-affinity that selects game-server pods per node, grace covering the preStop, agent identity from the downward API', () => {
    const deployment = find('Deployment', 'game-server');
    const pod = deployment.spec.template.spec;
    const terms = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.map((t: Json) => t.podAffinityTerm);
    expect(terms.some((term: Json) => term.topologyKey === 'kubernetes.io/hostname' && selectsOwnPods(term, deployment.spec.template))).toBe(true);
    const game = container(pod, 'game');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(game.lifecycle.preStop.sleep.seconds);
    const agent = container(pod, 'gs-agent');
    const env = envOf(agent);
    expect(env.POD_UID).toEqual({ fieldRef: { fieldPath: 'metadata.uid' } });
    expect(env.NODE_NAME).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    expect(env.POD_IP).toEqual({ fieldRef: { fieldPath: 'status.podIP' } });
    expect(env.GS_PORT).toBe(String(game.ports[0].containerPort));
    expect(game.ports[0].protocol).toBe('UDP');
    expect(agent.envFrom).toEqual([{ configMapRef: { name: 'gs-inventory' } }]);
    for (const name of Object.keys(env)) expect(knownEnv(GS_AGENT_OPTIONS), name).toContain(name);
  });

  it('load balancers: on distinct nodes, claim in an init container, nginx reading the generated config, the sidecar able to reload it', () => {
    const deployment = find('Deployment', 'udp-load-balancer');
    const pod = deployment.spec.template.spec;
    const [term] = pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(term.topologyKey).toBe('kubernetes.io/hostname');
    expect(selectsOwnPods(term, deployment.spec.template)).toBe(true);
    const init = pod.initContainers.find((c: Json) => c.name === 'claim-servers');
    expect(init.args).toEqual(['lb-bootstrap', '--once']);
    const sidecar = container(pod, 'lb-bootstrap');
    expect(sidecar.args).toEqual(['lb-bootstrap']);
    expect(pod.shareProcessNamespace).toBe(true);
    const env = envOf(sidecar);
    expect(env.API_KEY).toEqual({ secretKeyRef: { name: 'gs-inventory-lb-api-key', key: 'api-key' } });
    expect(env.POD_UID).toEqual({ fieldRef: { fieldPath: 'metadata.uid' } });
    expect(env.LB_COUNT).toBe('2');
    for (const name of Object.keys(env)) expect(knownEnv(LB_BOOTSTRAP_OPTIONS), name).toContain(name);

    // nginx includes the directory the config is written to, and writes its pid where the sidecar looks.
    const nginxConf = find('ConfigMap', 'udp-load-balancer-nginx').data['nginx.conf'];
    const nginx = container(pod, 'nginx');
    const mountOf = (c: Json, volume: string) => c.volumeMounts.find((m: Json) => m.name === volume).mountPath;
    expect(env.NGINX_STREAM_CONFIG.startsWith(`${mountOf(sidecar, 'stream-config')}/`)).toBe(true);
    expect(nginxConf).toContain(`include ${mountOf(nginx, 'stream-config')}/*.conf;`);
    expect(nginxConf).toContain(`pid ${env.NGINX_PID_FILE};`);
    expect(env.NGINX_PID_FILE.startsWith(`${mountOf(sidecar, 'run')}/`)).toBe(true);
    expect(mountOf(nginx, 'run')).toBe(mountOf(sidecar, 'run'));
    expect(pod.volumes.find((v: Json) => v.name === 'run')).toMatchObject({ emptyDir: expect.any(Object) });
    expect(nginx.ports[0]).toMatchObject({ containerPort: Number(env.LB_LISTEN), protocol: 'UDP' });
    const service = find('Service', 'udp-load-balancer');
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(service.spec.ports[0]).toMatchObject({ protocol: 'UDP', targetPort: nginx.ports[0].name });
  });

  it('node-drain-watcher: a DaemonSet on every node, with host networking (metadata access) and its node name', () => {
    const daemonSet = find('DaemonSet', 'node-drain-watcher');
    const pod = daemonSet.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
    const watcher = container(pod, 'node-drain-watcher');
    const env = envOf(watcher);
    expect(env.NODE_NAME).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    for (const name of Object.keys(env)) expect(knownEnv(NODE_DRAIN_WATCHER_OPTIONS), name).toContain(name);
  });

  it('the shared ConfigMap gives the clients their queue and API, in each namespace that has clients', () => {
    for (const namespace of NAMESPACES) expect(find('ConfigMap', 'gs-inventory', namespace).data).toEqual(find('ConfigMap', 'gs-inventory', 'game-servers').data);
    const config = find('ConfigMap', 'gs-inventory', 'game-servers').data;
    expect(Object.keys(config).sort()).toEqual(['API_URL', 'AWS_REGION', 'LOG_LEVEL', 'QUEUE_URL']);
    for (const specs of [GS_AGENT_OPTIONS, NODE_DRAIN_WATCHER_OPTIONS]) for (const name of ['AWS_REGION', 'QUEUE_URL', 'LOG_LEVEL']) expect(knownEnv(specs)).toContain(name);
    expect(knownEnv(LB_BOOTSTRAP_OPTIONS)).toContain('API_URL');
  });
  it("load balancers: nginx runs unprivileged as the sidecar's user, so that the sidecar may signal it", () => {
    const pod = find('Deployment', 'udp-load-balancer').spec.template.spec;
    const userOf = (c: Json) => c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
    const nginx = container(pod, 'nginx');
    const sidecar = container(pod, 'lb-bootstrap');
    expect(userOf(nginx)).toBe(10001);
    expect(userOf(sidecar)).toBe(userOf(nginx));
    expect(pod.shareProcessNamespace).toBe(true);
    // Not the image's entrypoint scripts (they write under /etc/nginx, read-only here).
    expect(nginx.command).toEqual(['nginx', '-e', 'stderr', '-g', 'daemon off;']);
    const nginxConf = find('ConfigMap', 'udp-load-balancer-nginx').data['nginx.conf'];
    expect(nginxConf).not.toMatch(/^\s*user\s/m);
    expect(nginxConf).not.toMatch(/^\s*http\s*\{/m);
    // An unprivileged process binds ports above 1024 only (no NET_BIND_SERVICE).
    expect(nginx.ports.map((p: Json) => p.containerPort).every((port: number) => port > 1024)).toBe(true);
  });

  it('Pod Security: the namespaces enforce "restricted", but for the node-drain-watcher one, which needs hostNetwork', () => {
    const labelsOf = (name: string) => find('Namespace', name).metadata.labels;
    expect(labelsOf('game-servers')).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
    expect(labelsOf('game-servers-node-drain')).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'privileged',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
    expect(all.filter((doc) => doc.metadata.namespace === 'game-servers-node-drain').map((doc) => `${doc.kind}/${doc.metadata.name}`).sort()).toEqual([
      'ConfigMap/gs-inventory',
      'DaemonSet/node-drain-watcher',
      'ServiceAccount/node-drain-watcher',
    ]);
  });

  it('Pod Security: every pod template meets "restricted" (and our rules) in every container, init containers included', () => {
    const templates = podTemplates();
    expect(templates.map((t) => t.owner).sort()).toEqual(['DaemonSet/node-drain-watcher', 'Deployment/game-server', 'Deployment/udp-load-balancer']);
    for (const template of templates) {
      const expected = template.owner === 'DaemonSet/node-drain-watcher' ? ['pod: hostNetwork'] : [];
      expect(restrictedViolations(template.spec), template.owner).toEqual(expected);
    }
  });

  it('Pod Security: the check names each rule a container breaks', () => {
    // A deep copy without the YAML anchors' sharing (structuredClone would keep the aliases shared).
    const pod = JSON.parse(JSON.stringify(find('Deployment', 'udp-load-balancer').spec.template.spec));
    const init = pod.initContainers[0];
    delete init.securityContext.allowPrivilegeEscalation;
    init.securityContext.capabilities = { drop: ['NET_RAW'], add: ['SYS_ADMIN'] };
    delete init.resources.limits;
    const nginx = pod.containers.find((c: Json) => c.name === 'nginx');
    nginx.securityContext = { ...nginx.securityContext, runAsUser: 0, readOnlyRootFilesystem: false };
    delete pod.securityContext.seccompProfile;
    pod.automountServiceAccountToken = true;
    pod.volumes.push({ name: 'host', hostPath: { path: '/' } });
    expect(restrictedViolations(pod)).toEqual([
      'pod: automountServiceAccountToken is not false',
      'volume host: type hostPath',
      'container claim-servers: seccompProfile is not RuntimeDefault or Localhost',
      'container claim-servers: allowPrivilegeEscalation is not false',
      'container claim-servers: capabilities.drop lacks ALL',
      'container claim-servers: capabilities.add SYS_ADMIN',
      'container claim-servers: no memory limit',
      'container nginx: runAsUser 0',
      'container nginx: seccompProfile is not RuntimeDefault or Localhost',
      'container nginx: readOnlyRootFilesystem is not true',
      'container lb-bootstrap: seccompProfile is not RuntimeDefault or Localhost',
    ]);
  });

  it('every image is pinned by digest, and kustomization.yaml sets the digest of each (a placeholder until filled in)', () => {
    const DIGEST = /^sha256:([0-9a-f]{64}|REPLACE_WITH_IMAGE_DIGEST)$/;
    const images = podTemplates().flatMap((t) => allContainers(t.spec).map((c: Json) => c.image as string));
    const names = new Set<string>();
    for (const image of images) {
      const [reference, digest] = image.split('@') as [string, string | undefined];
      expect(digest, image).toMatch(DIGEST);
      names.add(reference.replace(/:[\w.-]+$/, ''));
    }
    expect(names).toEqual(new Set(['registry.example.com/gs-inventory-clients', 'registry.example.com/my-game-server', 'docker.io/nginxinc/nginx-unprivileged']));
    expect(new Set(kustomization.images.map((entry: Json) => entry.name))).toEqual(names);
    for (const entry of kustomization.images) {
      expect(Object.keys(entry).sort(), entry.name).toEqual(['digest', 'name']);
      expect(entry.digest, entry.name).toMatch(DIGEST);
    }
  });

  it('IRSA: credentials reach only the containers that send events (skip-containers lists every other one)', () => {
    /** The clients that send to the status queue: all of them, but lb-bootstrap --once (it only claims). */
    const sendsEvents = (c: Json) => ['gs-agent', 'lb-bootstrap', 'node-drain-watcher'].includes(c.args?.[0]) && !c.args.includes('--once');
    const skipped: Record<string, string[]> = {};
    for (const template of podTemplates()) {
      const containers = allContainers(template.spec);
      skipped[template.owner] = (template.metadata.annotations?.['eks.amazonaws.com/skip-containers'] ?? '').split(',').filter(Boolean);
      expect(skipped[template.owner], template.owner).toEqual(containers.filter((c: Json) => !sendsEvents(c)).map((c: Json) => c.name));
    }
    expect(skipped).toEqual({
      'Deployment/game-server': ['game'],
      'Deployment/udp-load-balancer': ['claim-servers', 'nginx'],
      'DaemonSet/node-drain-watcher': [],
    });
  });

  it('IRSA: one service account, role, trust policy and least-privilege policy per kind of pod', () => {
    const queueUrl = new URL(find('ConfigMap', 'gs-inventory', 'game-servers').data.QUEUE_URL);
    const [, account, queue] = queueUrl.pathname.split('/');
    const region = queueUrl.hostname.split('.')[1];
    const queueArn = `arn:aws:sqs:${region}:${account}:${queue}`;
    const accounts = all.filter((doc) => doc.kind === 'ServiceAccount');
    expect(accounts.map((a) => a.metadata.name).sort()).toEqual(['game-server', 'node-drain-watcher', 'udp-load-balancer']);
    const workloadsOf = (a: Json) => podTemplates().filter((t) => t.namespace === a.metadata.namespace && t.spec.serviceAccountName === a.metadata.name);
    for (const serviceAccount of accounts) {
      const { name, namespace } = serviceAccount.metadata;
      expect(workloadsOf(serviceAccount), name).toHaveLength(1);
      expect(serviceAccount.automountServiceAccountToken, name).toBe(false);
      const role = serviceAccount.metadata.annotations['eks.amazonaws.com/role-arn'];
      expect(role, name).toBe(`arn:aws:iam::${account}:role/gs-inventory-prod-${name}`);

      expect(readJson(`iam/${name}.policy.json`).Statement, name).toEqual([{ Sid: expect.any(String), Effect: 'Allow', Action: 'sqs:SendMessage', Resource: queueArn }]);
      const [trust, ...others] = readJson(`iam/${name}.trust.json`).Statement;
      expect(others, name).toEqual([]);
      expect(trust).toMatchObject({ Effect: 'Allow', Action: 'sts:AssumeRoleWithWebIdentity' });
      const provider = trust.Principal.Federated.replace(/^arn:aws:iam::\d{12}:oidc-provider\//, '');
      expect(trust.Condition).toEqual({
        StringEquals: { [`${provider}:sub`]: `system:serviceaccount:${namespace}:${name}`, [`${provider}:aud`]: 'sts.amazonaws.com' },
      });
    }
    const policyFiles = readdirSync(join(K8S_DIR, 'iam')).sort();
    expect(policyFiles).toEqual(accounts.flatMap((a) => [`${a.metadata.name}.policy.json`, `${a.metadata.name}.trust.json`]).sort());
  });
});
