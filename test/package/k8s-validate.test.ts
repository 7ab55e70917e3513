import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { allObjects, findObject, type Json } from '../fixtures/k8s';

/**
 * Every object of deploy/k8s (and the ConfigMaps kustomize generates) against the Kubernetes
 * OpenAPI schemas, offline: kubernetes-models' classes carry the schemas compiled to validators
 * (types, required fields, enums, quantities and other formats). The schemas do not forbid
 * unknown fields, as the API server's strict field validation would; the content tests in
 * test/unit/k8s-manifests.test.ts read the fields that matter by name.
 */

interface Validatable {
  validate(): void;
}

/** The model class of each apiVersion/kind the manifests use; anything else fails the test. */
const MODELS: Record<string, new (data: Json) => Validatable> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/Deployment': Deployment,
};

/** The schema errors of an object: '' when it is valid. */
function schemaErrors(doc: Json): string {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) return `no schema for ${doc.apiVersion}/${doc.kind}`;
  try {
    new Model(doc).validate();
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('deploy/k8s against the Kubernetes OpenAPI schemas', () => {
  it('every object is valid for its apiVersion and kind', () => {
    expect(allObjects.length).toBeGreaterThan(0);
    const invalid = allObjects.map((doc) => [`${doc.kind}/${doc.metadata?.name}`, schemaErrors(doc)]).filter(([, errors]) => errors !== '');
    expect(invalid).toEqual([]);
  });

  it('rejects what the API server would: a missing container name, a malformed quantity, a user id that is not a number', () => {
    const broken = JSON.parse(JSON.stringify(findObject('Deployment', 'udp-load-balancer')));
    const [nginx, sidecar] = broken.spec.template.spec.containers;
    delete nginx.name;
    sidecar.resources.limits.memory = 'lots';
    broken.spec.template.spec.securityContext.runAsUser = 'nginx';
    const errors = schemaErrors(broken);
    expect(errors).toContain('data/spec/template/spec/containers/0 must have required property name');
    expect(errors).toContain('data/spec/template/spec/containers/1/resources/limits/memory must match format "quantity"');
    expect(errors).toContain('data/spec/template/spec/securityContext/runAsUser must be integer');
    expect(schemaErrors({ apiVersion: 'batch/v1', kind: 'CronJob' })).toBe('no schema for batch/v1/CronJob');
  });
});
