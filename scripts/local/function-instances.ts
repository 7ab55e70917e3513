/**
 * Lambda's concurrency model for one function, locally: an execution environment (instance)
 * serves one request at a time. A request takes the most recently used idle instance (warm);
 * when every instance is busy a new one is made (a cold start: `coldStart()` builds the handler
 * with its own caches, as module initialisation does on AWS), up to `maxInstances` (the function's
 * concurrency limit). Past the limit a request waits for the next instance to come free, where
 * Lambda would throttle; locally a queue is kinder to the developer and keeps every request.
 */
type Instance<E, C, R> = (event: E, context: C) => Promise<R>;

export class FunctionInstances<E, C, R> {
  private readonly idle: Array<Instance<E, C, R>> = [];
  private readonly waiting: Array<(instance: Instance<E, C, R>) => void> = [];
  private created = 0;
  private busy = 0;
  private coldStartMs = 0;

  constructor(
    private readonly coldStart: () => Instance<E, C, R>,
    readonly maxInstances: number,
  ) {
    if (!Number.isInteger(maxInstances) || maxInstances < 1) throw new Error(`maxInstances must be a positive integer, not ${maxInstances}`);
  }

  async invoke(event: E, context: C): Promise<R> {
    const instance: Instance<E, C, R> =
      this.idle.pop() ?? (this.created < this.maxInstances ? this.start() : await new Promise<Instance<E, C, R>>((resolve) => this.waiting.push(resolve)));
    this.busy++;
    try {
      return await instance(event, context);
    } finally {
      this.busy--;
      const next = this.waiting.shift();
      if (next) next(instance);
      else this.idle.push(instance);
    }
  }

  /** Instances made so far (cold starts), busy and idle now, and the time the cold starts took. */
  stats(): { created: number; busy: number; idle: number; waiting: number; coldStartMs: number } {
    return { created: this.created, busy: this.busy, idle: this.idle.length, waiting: this.waiting.length, coldStartMs: Math.round(this.coldStartMs * 10) / 10 };
  }

  private start(): Instance<E, C, R> {
    const started = performance.now();
    const instance = this.coldStart();
    this.created++;
    this.coldStartMs += performance.now() - started;
    return instance;
  }
}
