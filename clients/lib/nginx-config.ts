import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The default nginx `stream` configuration of a UDP load balancer: one upstream with the claimed
 * servers, one UDP listener. The file goes into nginx's `stream {}` context (e.g. included from
 * `stream { include /etc/nginx/stream.d/*.conf; }`). Passive health checks: a server that fails
 * (ICMP port unreachable, no answer within proxy_timeout) is skipped for fail_timeout, so the other
 * one takes the new sessions.
 */
export const DEFAULT_STREAM_TEMPLATE = `# Written by lb-bootstrap for claim {{claimId}}. Regenerated on every start: edit the template, not this file.
upstream {{upstreamName}} {
{{#servers}}
    server {{address}} max_fails={{maxFails}} fail_timeout={{failTimeout}};  # node {{node}}
{{/servers}}
}

server {
    listen {{listen}} udp;
    proxy_pass {{upstreamName}};
    proxy_timeout {{proxyTimeout}};
}
`;

export interface StreamConfigServer {
  /** What nginx sends to: the private endpoint (default) or the public one. */
  address: string;
  endpoint: string;
  publicEndpoint?: string;
  node: string;
  region: string;
}

export interface StreamConfigView {
  claimId: string;
  upstreamName: string;
  /** `7777`, `0.0.0.0:7777` or `127.0.0.1:7777` */
  listen: string;
  /** nginx time, e.g. `30s` */
  proxyTimeout: string;
  maxFails: number;
  failTimeout: string;
  servers: StreamConfigServer[];
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Characters a value may have: addresses, names and nginx times. Nothing that could end a directive. */
const SAFE_VALUE = /^[A-Za-z0-9._:\[\]\-/]*$/;

/**
 * Renders a template with `{{name}}` values and `{{#list}}...{{/list}}` sections (repeated per
 * item; inside, an item's fields come first). A section tag alone on its line takes the line with
 * it. Unknown names and values that could inject nginx directives are refused (TemplateError),
 * so a typo in a user's template fails at start-up rather than producing a half-working proxy.
 */
export function renderTemplate(template: string, view: object): string {
  const standalone = template.replace(/^[ \t]*(\{\{[#/][A-Za-z]\w*\}\})[ \t]*\r?\n/gm, '$1');
  return renderSection(standalone, [view as Record<string, unknown>]);
}

function renderSection(template: string, scopes: Array<Record<string, unknown>>): string {
  const lookup = (name: string): unknown => {
    for (const scope of scopes) if (name in scope) return scope[name];
    throw new TemplateError(`unknown template value {{${name}}}`);
  };
  let out = '';
  let rest = template;
  for (;;) {
    const match = /\{\{\s*([#/]?)([A-Za-z]\w*)\s*\}\}/.exec(rest);
    if (!match) return out + rest;
    out += rest.slice(0, match.index);
    rest = rest.slice(match.index + match[0].length);
    const [, sigil, name] = match as unknown as [string, string, string];
    if (sigil === '/') throw new TemplateError(`{{/${name}}} without {{#${name}}}`);
    if (sigil === '#') {
      const close = rest.indexOf(`{{/${name}}}`);
      if (close < 0) throw new TemplateError(`{{#${name}}} is never closed`);
      const inner = rest.slice(0, close);
      rest = rest.slice(close + `{{/${name}}}`.length);
      const list = lookup(name);
      if (!Array.isArray(list)) throw new TemplateError(`{{#${name}}} needs a list`);
      for (const item of list) out += renderSection(inner, [item as Record<string, unknown>, ...scopes]);
      continue;
    }
    const value = lookup(name);
    const text = value === undefined ? '' : String(value);
    if (!SAFE_VALUE.test(text)) throw new TemplateError(`value of {{${name}}} has characters not allowed in the config: ${JSON.stringify(text)}`);
    out += text;
  }
}

export function renderStreamConfig(view: StreamConfigView, template: string = DEFAULT_STREAM_TEMPLATE): string {
  return renderTemplate(template, view);
}

/** Writes the file so that a reader sees the old or the new content, never half of it. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode: 0o644 });
  await rename(temporary, path);
}
