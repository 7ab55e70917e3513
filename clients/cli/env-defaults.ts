// Imported first by each pod client command, before any module builds an SDK client. The clients'
// own defaults (they ship without scripts/), the same two the local stack sets in
// scripts/local/env-defaults: run on Node 20, the AWS SDK would warn about the Node version at every
// start. The clients use no Powertools Metrics; the second default is for a game server that
// gs-agent wraps, which inherits this environment.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
