import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec';

/**
 * Offline check of a CloudFormation template against the resource specification shipped in
 * `@aws-cdk/aws-service-spec` (the registry schemas CloudFormation itself validates with): every
 * resource type exists, every property is a property of its type, every required property is
 * present, recursively through nested property types, arrays, maps and unions.
 *
 * Deliberately lenient on scalars (CloudFormation converts "5" and 5 and true/"true" freely) and
 * silent under intrinsic functions, whose values are only known at deploy time.
 */

/** The subset of the spec's property types this check reads (see @aws-cdk/service-spec-types). */
type PropertyType =
  | { type: 'string' | 'number' | 'integer' | 'boolean' | 'json' | 'date-time' | 'null' | 'tag' }
  | { type: 'ref'; reference: { $ref: string } }
  | { type: 'array' | 'map'; element: PropertyType }
  | { type: 'union'; types: PropertyType[] };

interface PropertySpec {
  required?: boolean;
  type: PropertyType;
}

type Properties = Record<string, PropertySpec>;

/** Property definitions by resource type and by nested type reference. */
export interface CfnSpec {
  resourceProperties(cloudFormationType: string): Properties | undefined;
  typeProperties(reference: string): Properties;
}

export interface SpecProblem {
  /** Logical id of the resource. */
  resource: string;
  /** Where inside it, e.g. `Properties.GlobalSecondaryIndexes[0].Projection`. */
  path: string;
  message: string;
}

/** Loads the spec database (~0.5 s, ~2.5 MB gzipped JSON). Load once per test file. */
export async function loadCfnSpec(): Promise<CfnSpec> {
  const db = await loadAwsServiceSpec();
  return {
    resourceProperties(cloudFormationType) {
      const [resource] = db.lookup('resource', 'cloudFormationType', 'equals', cloudFormationType);
      return resource?.properties;
    },
    typeProperties(reference) {
      return db.get('typeDefinition', reference).properties;
    },
  };
}

/** Resource-level keys of a template entry (everything else is an error). */
const RESOURCE_ATTRIBUTES = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'UpdatePolicy',
  'CreationPolicy',
  'Condition',
  'Metadata',
]);

type Json = unknown;

const isObject = (value: Json): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `{ Ref: ... }`, `{ 'Fn::GetAtt': ... }`, ...: a value CloudFormation computes at deploy time. */
const isIntrinsic = (value: Json): boolean => {
  if (!isObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'));
};

const alternatives = (type: PropertyType): PropertyType[] =>
  type.type === 'union' ? type.types.flatMap(alternatives) : [type];

const TAG: Properties = { Key: { required: true, type: { type: 'string' } }, Value: { required: true, type: { type: 'string' } } };

/** Checks every resource of a template; an empty list means the template conforms. */
export function checkTemplate(spec: CfnSpec, template: { Resources?: Record<string, Json> }): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const report = (path: string, message: string) => problems.push({ resource: logicalId, path, message });
    if (!isObject(resource) || typeof resource.Type !== 'string') {
      report('', 'resource without a Type');
      continue;
    }
    for (const key of Object.keys(resource)) {
      if (!RESOURCE_ATTRIBUTES.has(key)) report(key, `unknown resource attribute ${key}`);
    }
    const properties = spec.resourceProperties(resource.Type);
    if (!properties) {
      report('Type', `unknown resource type ${resource.Type}`);
      continue;
    }
    for (const problem of checkObject(spec, resource.Properties ?? {}, properties, 'Properties')) {
      report(problem.path, problem.message);
    }
  }
  return problems;
}

type Found = Omit<SpecProblem, 'resource'>;

function checkObject(spec: CfnSpec, value: Json, properties: Properties, path: string): Found[] {
  if (isIntrinsic(value)) return [];
  if (!isObject(value)) return [{ path, message: 'expected an object' }];
  const problems: Found[] = [];
  for (const [name, propertyValue] of Object.entries(value)) {
    const property = properties[name];
    if (!property) {
      problems.push({ path: `${path}.${name}`, message: `unknown property ${name}` });
      continue;
    }
    problems.push(...checkValue(spec, propertyValue, property.type, `${path}.${name}`));
  }
  for (const [name, property] of Object.entries(properties)) {
    if (property.required && !(name in value)) {
      problems.push({ path: `${path}.${name}`, message: `missing required property ${name}` });
    }
  }
  return problems;
}

/** A value matches a union when it matches one member; otherwise report the closest member's problems. */
function checkValue(spec: CfnSpec, value: Json, type: PropertyType, path: string): Found[] {
  if (isIntrinsic(value) || value === null) return [];
  let best: Found[] | undefined;
  for (const candidate of alternatives(type)) {
    const problems = checkAgainst(spec, value, candidate, path);
    if (problems.length === 0) return [];
    if (!best || problems.length < best.length) best = problems;
  }
  return best ?? [];
}

function checkAgainst(spec: CfnSpec, value: Json, type: PropertyType, path: string): Found[] {
  switch (type.type) {
    case 'json':
      return [];
    case 'ref':
      return checkObject(spec, value, spec.typeProperties(type.reference.$ref), path);
    case 'tag':
      return checkObject(spec, value, TAG, path);
    case 'array':
      if (!Array.isArray(value)) return [{ path, message: 'expected a list' }];
      return value.flatMap((element, index) => checkValue(spec, element, type.element, `${path}[${index}]`));
    case 'map':
      if (!isObject(value)) return [{ path, message: 'expected a map' }];
      return Object.entries(value).flatMap(([key, element]) => checkValue(spec, element, type.element, `${path}.${key}`));
    case 'union':
      return checkValue(spec, value, type, path);
    default:
      // Scalars: any scalar will do (see the module comment).
      return typeof value === 'object' ? [{ path, message: `expected a ${type.type}` }] : [];
  }
}
