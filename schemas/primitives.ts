import { z } from 'zod';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const BRACKETED_IPV6 = /^\[[0-9a-f:.]{2,45}\]$/;

/** Splits `host:port`; the host may be an IPv4 address, a DNS name or a bracketed IPv6 address. */
export function parseEndpoint(value: string): { host: string; port: number } | undefined {
  const separator = value.lastIndexOf(':');
  if (separator <= 0) return undefined;
  const host = value.slice(0, separator).toLowerCase();
  const portText = value.slice(separator + 1);
  if (!/^[1-9]\d{0,4}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535) return undefined;
  if (host.startsWith('[')) return BRACKETED_IPV6.test(host) ? { host, port } : undefined;
  if (IPV4.test(host) || (HOSTNAME.test(host) && !/^[\d.]+$/.test(host))) return { host, port };
  return undefined;
}

/** `host:port`, normalised to lower case. The key of every game-server and load-balancer record. */
export const EndpointSchema = z
  .string()
  .max(300)
  .refine((value) => parseEndpoint(value) !== undefined, {
    message: 'must be host:port (IPv4, DNS name or [IPv6], port 1-65535)',
  })
  .transform((value) => value.toLowerCase());

export const RegionSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be 1-64 lower-case letters, digits or dashes');

export const GroupSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 letters, digits, dots, dashes or underscores');

export const NodeNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$/, 'must be a node or host name (1-253 characters)');

export const LabelKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/, 'label keys are 1-63 letters, digits, dots, dashes, underscores or slashes');

export const LabelsSchema = z
  .record(LabelKeySchema, z.string().max(256))
  .refine((labels) => Object.keys(labels).length <= 32, { message: 'at most 32 labels' });

export const ClaimIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'claim ids are 1-128 letters, digits, dots, dashes, colons or underscores');

export const DrainReasonSchema = z
  .enum(['sigterm', 'spot-interruption', 'rebalance', 'node-drain'])
  .describe('sigterm: the pod itself is shutting down; the others: its node is drained (by its watcher: a Spot interruption, a rebalance recommendation, or by hand)');
export type DrainReason = z.infer<typeof DrainReasonSchema>;
