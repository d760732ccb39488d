/**
 * A TCP proxy the chaos runner puts between the instances and a server they depend on (PostgreSQL,
 * Redis), so it can fail that server without touching it (the server may be shared):
 *  - `cut()`: resets every connection and refuses new ones (the server is gone);
 *  - `slow(ms)`: delays every chunk by `ms` in each direction, in order (a slow network or disk);
 *  - `heal()`: forwards normally again (connections that lived through a cut are already gone).
 * Listens on 127.0.0.1, on the given port or a free one (0).
 */
import net from 'node:net';

type Mode = { kind: 'open' } | { kind: 'cut' } | { kind: 'slow'; delayMs: number };

export class FaultProxy {
  private mode: Mode = { kind: 'open' };
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }, port = 0): Promise<FaultProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const proxy = new FaultProxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => proxy.accept(client, target));
    return proxy;
  }

  cut(): void {
    this.mode = { kind: 'cut' };
    for (const socket of this.sockets) socket.resetAndDestroy();
  }

  slow(delayMs: number): void {
    this.mode = { kind: 'slow', delayMs };
  }

  heal(): void {
    this.mode = { kind: 'open' };
  }

  get state(): Mode['kind'] {
    return this.mode.kind;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: net.Socket, target: { host: string; port: number }): void {
    if (this.mode.kind === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    this.forward(client, upstream);
    this.forward(upstream, client);
  }

  /**
   * Copies `from` to `to`, delaying chunks while slow; a chunk never overtakes an earlier one. Delayed chunks wait
   * in one queue drained by one timer: a timer each overtook (Node times a timer from the loop's cached start, so
   * a later chunk's shorter remaining delay, taken in the same turn of the loop, fired first).
   */
  private forward(from: net.Socket, to: net.Socket): void {
    const queue: { chunk: Buffer; releaseAt: number }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const drain = () => {
      timer = undefined;
      const now = performance.now();
      while (queue.length > 0 && queue[0]!.releaseAt <= now) {
        const { chunk } = queue.shift()!;
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(drain, queue[0]!.releaseAt - now);
    };
    from.on('data', (chunk: Buffer) => {
      if (this.mode.kind === 'cut') return;
      const delayMs = this.mode.kind === 'slow' ? this.mode.delayMs : 0;
      if (delayMs === 0 && queue.length === 0) {
        to.write(chunk);
        return;
      }
      queue.push({ chunk, releaseAt: performance.now() + delayMs });
      timer ??= setTimeout(drain, delayMs);
    });
  }
}
