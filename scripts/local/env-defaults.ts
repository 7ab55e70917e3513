// Imported first by local entry points, before any module builds an SDK client or a Metrics
// instance: local runs are on Node 20 and print no EMF metrics unless asked to.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
