// The options of the pod clients (flag -> environment variable), apart from the commands so that
// tests can check the Kubernetes manifests against them.
import { DEFAULT_IMDS_URL } from '../lib/imds';
import { SQS_OPTIONS, type OptionSpecs } from './options';

export const GS_AGENT_OPTIONS: OptionSpecs = {
  endpoint: { env: 'GS_ENDPOINT', description: 'ip:port load balancers send to (default POD_IP:GS_PORT)' },
  port: { env: 'GS_PORT', description: 'game port, with POD_IP, when --endpoint is not given' },
  'public-endpoint': { env: 'GS_PUBLIC_ENDPOINT', description: 'host:port players reach directly, if any' },
  region: { env: 'GS_REGION', description: 'region of the server' },
  group: { env: 'GS_GROUP', description: 'server group (e.g. game mode or build)' },
  label: { env: 'GS_LABELS', description: 'label key=value (repeatable; env: comma-separated)', multiple: true },
  node: { env: 'NODE_NAME', description: 'Kubernetes node name (spec.nodeName)' },
  'pod-uid': { env: 'POD_UID', description: 'Kubernetes pod UID (metadata.uid)' },
  'instance-id': { env: 'INSTANCE_ID', description: 'EC2 instance id (default: read from instance metadata)' },
  lifecycle: { env: 'NODE_LIFECYCLE', description: 'spot or on-demand' },
  capacity: { env: 'GS_CAPACITY', description: 'player capacity' },
  'players-file': { env: 'PLAYERS_FILE', description: 'file the game writes its player count to; sent with heartbeats' },
  'heartbeat-seconds': { env: 'HEARTBEAT_SECONDS', description: 'time between heartbeats', default: '10' },
  'grace-seconds': { env: 'GRACE_SECONDS', description: 'after SIGTERM, time the game keeps running', default: '25' },
  'stop-timeout-seconds': { env: 'STOP_TIMEOUT_SECONDS', description: 'after the grace period, time before SIGKILL', default: '10' },
  imds: { env: 'IMDS_URL', description: `instance metadata base URL, or "off"`, default: DEFAULT_IMDS_URL },
  'imds-poll-seconds': { env: 'IMDS_POLL_SECONDS', description: 'time between interruption checks', default: '5' },
  ...SQS_OPTIONS,
};

export const LB_BOOTSTRAP_OPTIONS: OptionSpecs = {
  'api-url': { env: 'API_URL', description: 'base URL of the inventory API' },
  'api-key': { env: 'API_KEY', description: 'API key with the load-balancer role' },
  count: { env: 'LB_COUNT', description: 'game servers to claim', default: '2' },
  region: { env: 'LB_REGION', description: 'region of the servers (and of this load balancer)' },
  group: { env: 'LB_GROUP', description: 'server group to claim from' },
  label: { env: 'LB_LABELS', description: 'required server label key=value (repeatable)', multiple: true },
  'lease-seconds': { env: 'LEASE_SECONDS', description: 'lease between claim and confirm' },
  'deadline-seconds': { env: 'CLAIM_DEADLINE_SECONDS', description: 'keep retrying this long, then exit 1', default: '300' },
  'retry-base-ms': { env: 'CLAIM_RETRY_BASE_MS', description: 'first retry delay cap (doubles per attempt)', default: '1000' },
  'retry-max-ms': { env: 'CLAIM_RETRY_MAX_MS', description: 'largest retry delay cap', default: '15000' },
  listen: { env: 'LB_LISTEN', description: 'nginx UDP listen address: port or addr:port', default: '7777' },
  config: { env: 'NGINX_STREAM_CONFIG', description: 'where to write the stream config', default: '/etc/nginx/stream.d/game-servers.conf' },
  template: { env: 'NGINX_TEMPLATE', description: 'template file instead of the built-in one' },
  'upstream-name': { env: 'UPSTREAM_NAME', description: 'nginx upstream name', default: 'game_servers' },
  'upstream-address': { env: 'UPSTREAM_ADDRESS', description: 'endpoint (private) or publicEndpoint', default: 'endpoint' },
  'proxy-timeout': { env: 'PROXY_TIMEOUT', description: 'nginx proxy_timeout', default: '30s' },
  'max-fails': { env: 'MAX_FAILS', description: 'nginx max_fails per server', default: '1' },
  'fail-timeout': { env: 'FAIL_TIMEOUT', description: 'nginx fail_timeout per server', default: '10s' },
  once: { env: 'LB_BOOTSTRAP_ONCE', description: 'claim, write the config and exit (init container)', boolean: true },
  'nginx-pid-file': { env: 'NGINX_PID_FILE', description: "nginx's pid file: SIGHUP (reload) it when the config changes" },
  'watch-seconds': { env: 'WATCH_SECONDS', description: 'time between checks of the claimed servers (0: no checks)', default: '5' },
  endpoint: { env: 'LB_ENDPOINT', description: 'this load balancer ip:port (default POD_IP:<listen port>)' },
  'public-endpoint': { env: 'LB_PUBLIC_ENDPOINT', description: 'host:port players connect to' },
  node: { env: 'NODE_NAME', description: 'Kubernetes node name' },
  'pod-uid': { env: 'POD_UID', description: 'Kubernetes pod UID: the claim id derives from it' },
  'heartbeat-seconds': { env: 'HEARTBEAT_SECONDS', description: 'time between load-balancer heartbeats', default: '10' },
  ...SQS_OPTIONS,
};

export const NODE_DRAIN_WATCHER_OPTIONS: OptionSpecs = {
  node: { env: 'NODE_NAME', description: 'Kubernetes node name (spec.nodeName), as the game servers report it' },
  'instance-id': { env: 'INSTANCE_ID', description: 'EC2 instance id (default: read from instance metadata)' },
  'node-region': { env: 'NODE_REGION', description: 'region label of the node (informational)' },
  'pod-uid': { env: 'POD_UID', description: 'this watcher pod (informational)' },
  imds: { env: 'IMDS_URL', description: 'instance metadata base URL', default: DEFAULT_IMDS_URL },
  'poll-seconds': { env: 'POLL_SECONDS', description: 'time between metadata checks', default: '5' },
  'announce-seconds': { env: 'ANNOUNCE_SECONDS', description: 'time between repetitions of the node state', default: '60' },
  send: { description: 'send one event (ready or draining) and exit, e.g. to un-drain a node by hand' },
  ...SQS_OPTIONS,
};
