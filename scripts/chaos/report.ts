import type { ChaosResult, SeedResult } from './chaos';
import { PROMISES, VIOLATION_KINDS, type Violation } from './types';

type Row = [label: string, values: number[]];

const PROXY_FAULTS = ['reset-before', 'reset-after', 'blackhole', 'latency', 'outage'] as const;
const QUEUE_FAULTS: Array<[label: string, pick: (run: SeedResult) => number]> = [
  ['queue: duplicate deliveries', (r) => r.faults.queue.duplicates],
  ['queue: delayed deliveries', (r) => r.faults.queue.delayed],
  ['queue: late copies', (r) => r.faults.queue.lateCopies],
  ['queue: legacy init copies (sent before a claim)', (r) => r.faults.queue.legacyInitCopies],
  ['queue: pod restarts on the same ip:port', (r) => r.faults.queue.podRestarts],
  ['queue: poison messages', (r) => r.faults.queue.poison],
  ['poller: SIGKILL mid-batch', (r) => r.faults.queue.pollerKills],
];

function rows(result: ChaosResult): { faults: Row[]; answers: Row[]; violations: Row[] } {
  const runs = result.runs;
  const per = (pick: (run: SeedResult) => number): number[] => runs.map(pick);
  const statuses = [...new Set(runs.flatMap((r) => Object.keys(r.answers.byStatus)))].sort();
  const codes = [...new Set(runs.flatMap((r) => Object.keys(r.answers.byCode)))].sort();
  return {
    faults: [
      ...PROXY_FAULTS.map((kind): Row => [`proxy: ${kind}`, per((r) => r.faults.proxy.faults[kind])]),
      ['proxy: outages (0.5-2 s each)', per((r) => r.faults.outages)],
      ['proxy: aimed faults (rules)', per((r) => r.faults.injectedRules)],
      ...QUEUE_FAULTS.map(([label, pick]): Row => [label, per(pick)]),
    ],
    answers: [
      ['requests', per((r) => r.answers.total)],
      ...statuses.flatMap((status): Row[] => [
        [`answered ${status}`, per((r) => r.answers.byStatus[status] ?? 0)],
        ...codes.filter((code) => code.startsWith(`${status} `)).map((code): Row => [`  ${code.slice(status.length + 1)}`, per((r) => r.answers.byCode[code] ?? 0)]),
      ]),
      ['claims answered 200 (distinct ids)', per((r) => r.claimsSucceeded)],
      ['set-gs-busy answered 200 (distinct ids)', per((r) => r.busySucceeded)],
      ['status messages sent', per((r) => r.faults.queue.messages)],
    ],
    violations: VIOLATION_KINDS.map((kind): Row => [kind, per((r) => r.violations[kind].count)]),
  };
}

const total = (values: number[]) => values.reduce((a, b) => a + b, 0);

function firstExample(result: ChaosResult, kind: (typeof VIOLATION_KINDS)[number]): { seed: number; example: Violation } | undefined {
  for (const run of result.runs) {
    const example = run.violations[kind].example;
    if (example) return { seed: run.seed, example };
  }
  return undefined;
}

function exemptionTotals(result: ChaosResult): Array<[string, number]> {
  const totals: Record<string, number> = {};
  for (const run of result.runs) for (const [key, count] of Object.entries(run.exemptions)) totals[key] = (totals[key] ?? 0) + count;
  return Object.entries(totals).sort((a, b) => b[1] - a[1]);
}

const yesNo = (value: boolean) => (value ? 'yes' : 'no');

function header(result: ChaosResult): string[] {
  const first = result.runs[0];
  const protocol = first ? first.protocol : undefined;
  return [
    `chaos run (${result.mode}), seeds ${result.seeds.join(', ')}: ${(result.durationMs / 1000).toFixed(1)} s on ${result.machine.cpus} CPUs, Node ${result.machine.node}`,
    ...(first && protocol
      ? [
          `protocol found: holdSeconds ${yesNo(protocol.holds)}, renew ${yesNo(protocol.renew)}, set-gs-busy holdSeconds ${yesNo(protocol.busyHold)}`,
          `fleet: ${first.fleet.stable} stable + ${first.fleet.churn} churning + ${first.fleet['busy-target']} set-gs-busy v1 servers, ${first.fleet['legacy-pool']} pooled + ${first.fleet['legacy-race']} race legacy servers`,
        ]
      : []),
    ...result.runs.map((r) => `seed ${r.seed}: ${(r.durationMs / 1000).toFixed(1)} s, phases ${r.faults.phases.join(' -> ')}, poller started ${r.faults.queue.pollerStarts}x (batch timeouts ${r.faults.queue.pollerBatchTimeouts}), queue ${r.drain.drained ? `drained in ${r.drain.waitedSeconds} s` : `NOT drained (${r.drain.remaining} left after ${r.drain.waitedSeconds} s)`}`),
  ];
}

/** The table printed to stdout. */
export function renderText(result: ChaosResult): string {
  const { faults, answers, violations } = rows(result);
  const seeds = result.runs.map((r) => `seed ${r.seed}`);
  const multi = result.runs.length > 1;
  const labelWidth = 48;
  const line = (label: string, values: Array<string | number>) =>
    `  ${label.padEnd(labelWidth)}${values.map((v) => String(v).padStart(9)).join('')}`;
  const section = (title: string, body: Row[]) => [
    line(title, multi ? [...seeds, 'total'] : ['count']),
    ...body.map(([label, values]) => line(label, multi ? [...values, total(values)] : values)),
  ];
  const out = [...header(result), '', ...section('FAULTS INJECTED', faults), '', ...section('ANSWERS', answers), '', ...section('VIOLATIONS', violations), ''];
  for (const kind of VIOLATION_KINDS) {
    const found = firstExample(result, kind);
    if (!found) continue;
    const count = total(result.runs.map((r) => r.violations[kind].count));
    out.push(`  ${kind} (${PROMISES[kind]}), e.g. seed ${found.seed}${count > 1 ? ` (1 of ${count})` : ''}:`, `    ${found.example.message}`);
  }
  for (const run of result.runs) for (const note of run.notes) out.push(`  note (seed ${run.seed}): ${note}`);
  for (const run of result.runs) if (run.observationFile) out.push(`  seed ${run.seed}: the whole observation (history, messages, tables) is in ${run.observationFile}`);
  const exemptions = exemptionTotals(result);
  if (exemptions.length) {
    out.push('', '  exempted (the pod changed under the claim, as the promises allow):');
    for (const [key, count] of exemptions) out.push(`    ${String(count).padStart(5)}  ${key}`);
  }
  out.push('', result.ok ? 'OK: no violations' : `FAILED: ${total(Object.values(result.totals))} violations`);
  return `${out.join('\n')}\n`;
}

/** bench/results/chaos-results.md */
export function renderMarkdown(result: ChaosResult): string {
  const { faults, answers, violations } = rows(result);
  const multi = result.runs.length > 1;
  const head = ['', ...result.runs.map((r) => `seed ${r.seed}`), ...(multi ? ['total'] : [])];
  const table = (title: string, body: Row[]) => [
    `| ${[title, ...head.slice(1)].join(' | ')} |`,
    `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...body.map(([label, values]) => `| ${[label, ...values, ...(multi ? [total(values)] : [])].join(' | ')} |`),
  ];
  const out = [
    '# Chaos results',
    '',
    'Generated by `npm run chaos` (scripts/chaos/run.ts). Each seed runs on a fresh local stack: DynamoDB Local behind a',
    'fault proxy (every DynamoDB client of the API instances and of the poller goes through it), several API instances,',
    'the status poller in a child process, concurrent claim clients, set-gs-busy racers and pod lifecycle traffic. After the',
    'workload the faults stop, leases run out, the queue drains, and the checker compares the whole client history with the',
    'final tables.',
    '',
    ...header(result).map((l) => `- ${l}`),
    '',
    ...table('Faults injected', faults),
    '',
    ...table('Answers', answers),
    '',
    ...table('Violations', violations),
    '',
    '## Violations',
    '',
  ];
  let any = false;
  for (const kind of VIOLATION_KINDS) {
    const found = firstExample(result, kind);
    if (!found) continue;
    any = true;
    out.push(`- **${kind}** (${PROMISES[kind]}): ${total(result.runs.map((r) => r.violations[kind].count))}; e.g. seed ${found.seed}: ${found.example.message}`);
    const more = result.runs.flatMap((r) => (r.violations[kind].more ?? []).map((m) => `seed ${r.seed}: ${m}`));
    for (const line of more.slice(0, 5)) out.push(`  - ${line}`);
    if (more.length > 5) out.push(`  - ... (${more.length - 5} more listed in the --json output)`);
  }
  if (!any) out.push('None.');
  const notes = result.runs.flatMap((run) => run.notes.map((note) => `- seed ${run.seed}: ${note}`));
  if (notes.length) out.push('', '## Notes', '', ...notes);
  const exemptions = exemptionTotals(result);
  out.push('', '## Exemptions', '', 'Cases not counted because the pod changed under the claim (drained, terminated, or replaced by a pod started after the claim), as the promises allow:', '');
  if (exemptions.length === 0) out.push('None.');
  for (const [key, count] of exemptions) out.push(`- ${key}: ${count}`);
  out.push('', '## What each violation means', '', ...VIOLATION_KINDS.map((kind) => `- \`${kind}\`: ${PROMISES[kind]}.`), '');
  return `${out.join('\n')}\n`;
}
