/**
 * Collects the calls made in one turn of the event loop (setImmediate: every request callback of
 * one poll phase) and sends them together, in chunks: one Redis command or pipeline for the L2
 * reads or writes of all concurrent requests instead of one each.
 *
 * A caller either waits for its own answer (`add`) or joins the turn (`join`): all joiners of a turn
 * share one promise, so a write that only needs to know when its turn was answered costs no
 * promise, closures or microtask of its own (the cache's write-through, hundreds per turn).
 */
export class TickBatch<I, O> {
  private pending: Entry<I, O>[] | undefined;
  private turn: Turn | undefined;

  /** @param send answers one chunk, one output per item in order (a `Failure` fails that item alone) */
  constructor(
    private readonly maxChunk: number,
    private readonly send: (items: I[]) => Promise<(O | Failure)[]>,
  ) {}

  add(item: I): Promise<O> {
    return new Promise((resolve, reject) => this.push({ item, resolve, reject }));
  }

  /** Sends `item` with this turn; the turn's promise never rejects: it resolves with the errors of its joined items. */
  join(item: I): Promise<unknown[]> {
    this.push({ item });
    if (!this.turn) {
      let resolve!: (errors: unknown[]) => void;
      const promise = new Promise<unknown[]>((r) => (resolve = r));
      this.turn = { promise, resolve, errors: [], chunks: 0 };
    }
    return this.turn.promise;
  }

  private push(entry: Entry<I, O>): void {
    if (!this.pending) {
      this.pending = [];
      setImmediate(() => this.flush());
    }
    this.pending.push(entry);
  }

  private flush(): void {
    const pending = this.pending!;
    const turn = this.turn;
    this.pending = undefined;
    this.turn = undefined;
    if (turn) turn.chunks = Math.ceil(pending.length / this.maxChunk);
    for (let i = 0; i < pending.length; i += this.maxChunk) {
      const chunk = pending.slice(i, i + this.maxChunk);
      const items = chunk.map((p) => p.item);
      this.send(items).then(
        (outputs) => {
          for (let j = 0; j < chunk.length; j++) {
            const entry = chunk[j]!;
            const output = outputs[j]!;
            if (output instanceof Failure) settle(entry, turn, output.error);
            else entry.resolve?.(output);
          }
          if (turn && --turn.chunks === 0) turn.resolve(turn.errors);
        },
        (error: unknown) => {
          for (const entry of chunk) settle(entry, turn, error);
          if (turn && --turn.chunks === 0) turn.resolve(turn.errors);
        },
      );
    }
  }
}

/** One item's failure in a chunk that was otherwise answered. */
export class Failure {
  constructor(readonly error: unknown) {}
}

interface Entry<I, O> {
  item: I;
  /** Absent for items that joined the turn. */
  resolve?(value: O): void;
  reject?(error: unknown): void;
}

interface Turn {
  promise: Promise<unknown[]>;
  resolve(errors: unknown[]): void;
  errors: unknown[];
  /** Chunks not answered yet. */
  chunks: number;
}

function settle<I, O>(entry: Entry<I, O>, turn: Turn | undefined, error: unknown): void {
  if (entry.reject) entry.reject(error);
  else turn!.errors.push(error);
}
