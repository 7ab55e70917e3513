import { T0 } from './clock';

/** The v1 wire format of a game-server event, as a pod sends it. */
export function v1Message(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    kind: 'game-server',
    event: 'ready',
    endpoint: '10.0.0.12:7777',
    publicEndpoint: 'gs-12.example.com:7777',
    region: 'us-west',
    group: 'mockup-server-grp1',
    node: 'ip-10-0-0-12',
    podUid: '6f1c2b1e-0000-4000-8000-000000000001',
    seq: 1,
    sentAt: new Date(T0).toISOString(),
    labels: { map: 'dust', mode: 'ranked' },
    capacity: 10,
    players: 0,
    ...overrides,
  };
}
