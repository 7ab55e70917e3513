import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { GS_AGENT_OPTIONS, LB_BOOTSTRAP_OPTIONS, NODE_DRAIN_WATCHER_OPTIONS } from '../../scripts/clients/specs';
import type { OptionSpecs } from '../../scripts/clients/options';

type Json = any;
const DIR = fileURLToPath(new URL('../../deploy/k8s/', import.meta.url));
const files = readdirSync(DIR).filter((name) => name.endsWith('.yaml'));

function load(name: string): Json[] {
  const documents = parseAllDocuments(readFileSync(join(DIR, name), 'utf8'));
  const list = Array.isArray(documents) ? documents : [documents];
  for (const document of list) expect(document.errors.map(String), name).toEqual([]);
  return list.map((document) => document.toJS());
}

const all = files.filter((name) => name !== 'kustomization.yaml').flatMap(load);
const find = (kind: string, name: string) => {
  const found = all.find((doc) => doc.kind === kind && doc.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
const container = (pod: Json, name: string) => [...(pod.initContainers ?? []), ...pod.containers].find((c: Json) => c.name === name);
const envOf = (c: Json) => Object.fromEntries((c.env ?? []).map((e: Json) => [e.name, e.value ?? e.valueFrom]));
const knownEnv = (specs: OptionSpecs) => new Set(Object.values(specs).flatMap((spec) => (spec.env ? [spec.env] : [])).concat(['POD_IP']));

/** A podAffinityTerm whose selector selects the pods of `template` (the replaced sample's did not). */
function selectsOwnPods(term: Json, template: Json): boolean {
  const labels = template.metadata.labels as Record<string, string>;
  const wanted = term.labelSelector?.matchLabels ?? {};
  return Object.keys(wanted).length > 0 && Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

describe('deploy/k8s', () => {
  it('is valid YAML with apiVersion, kind, name and namespace on every object, all listed in kustomization.yaml', () => {
    for (const doc of all) {
      expect(doc.apiVersion, JSON.stringify(doc.metadata)).toMatch(/^(v1|apps\/v1)$/);
      expect(doc.metadata.name).toMatch(/^[a-z0-9-]+$/);
      if (doc.kind !== 'Namespace') expect(doc.metadata.namespace, doc.metadata.name).toBe('game-servers');
    }
    const [kustomization] = load('kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.filter((name) => name !== 'kustomization.yaml').sort());
  });

  it('every Deployment and DaemonSet selects its own template, runs under an IRSA service account and sets a termination grace period', () => {
    for (const workload of all.filter((doc) => doc.kind === 'Deployment' || doc.kind === 'DaemonSet')) {
      const template = workload.spec.template;
      for (const [key, value] of Object.entries(workload.spec.selector.matchLabels)) expect(template.metadata.labels[key]).toBe(value);
      const account = find('ServiceAccount', template.spec.serviceAccountName);
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

  it('the shared ConfigMap gives the clients their queue and API', () => {
    const config = find('ConfigMap', 'gs-inventory').data;
    expect(Object.keys(config).sort()).toEqual(['API_URL', 'AWS_REGION', 'LOG_LEVEL', 'QUEUE_URL']);
    for (const specs of [GS_AGENT_OPTIONS, NODE_DRAIN_WATCHER_OPTIONS]) for (const name of ['AWS_REGION', 'QUEUE_URL', 'LOG_LEVEL']) expect(knownEnv(specs)).toContain(name);
    expect(knownEnv(LB_BOOTSTRAP_OPTIONS)).toContain('API_URL');
  });
});
