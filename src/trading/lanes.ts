/**
 * Per-key serial execution: tasks with the same key (an account) run one after another in arrival
 * order; different keys proceed independently. A task that never awaits runs to completion in one
 * synchronous step, so the engine's check-then-apply sections need no locks; the lane only orders
 * the commands that must await something first (loading an account, a client-id lookup).
 */
export class Lanes {
  private readonly tails = new Map<number, Promise<unknown>>();

  run<T>(key: number, task: () => Promise<T> | T): Promise<T> {
    const tail = this.tails.get(key);
    const result = tail ? tail.then(task, task) : Promise.resolve().then(task);
    const settled = result.then(
      () => {},
      () => {},
    );
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves once every task queued so far for these keys has finished. */
  async settled(keys: Iterable<number>): Promise<void> {
    const tails = [...keys].map((key) => this.tails.get(key)).filter((tail) => tail !== undefined);
    await Promise.all(tails);
  }

  /** Resolves once every task queued so far has finished. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all(this.tails.values());
  }
}
