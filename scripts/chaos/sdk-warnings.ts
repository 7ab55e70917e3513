/**
 * Counts (and keeps off the terminal) the SDK's "a request has exceeded the configured ...
 * requestTimeout" warnings of the in-process API instances. They are a finding in themselves: the
 * SDK only warns unless `throwOnRequestTimeout` is set, so a request that never gets an answer (a
 * blackhole) is waited for forever instead of timing out.
 */
export class SdkWarnings {
  requestTimeoutWarnings = 0;
  private readonly original = console.warn;

  install(): this {
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith('@smithy/node-http-handler') && args[0].includes('requestTimeout')) {
        this.requestTimeoutWarnings++;
        return;
      }
      this.original.apply(console, args);
    };
    return this;
  }

  uninstall(): void {
    console.warn = this.original;
  }
}
