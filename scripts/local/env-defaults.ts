// Imported first by local entry points, before any module builds an SDK client or a Metrics
// instance: local runs are on Node 20 and print no EMF metrics unless asked to. The pod clients
// (clients/cli/) have their own copy of these defaults: they ship without scripts/.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
