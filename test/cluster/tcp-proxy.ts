/**
 * A TCP proxy the test controls, between an instance and a server it depends on: `cut()` resets
 * every connection and refuses new ones (a server gone), `partition()` keeps connections open but
 * silently drops every byte both ways (a network partition: nothing answers, nothing fails),
 * `heal()` restores normal forwarding for new connections.
 */
import net from 'node:net';

type Mode = 'open' | 'cut' | 'partitioned';

export class TcpProxy {
  private mode: Mode = 'open';
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  /** Listens on a free port (the listener stays open through cuts and partitions): read it from `port`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => proxy.accept(client, target));
    return proxy;
  }

  cut(): void {
    this.mode = 'cut';
    for (const socket of this.sockets) socket.resetAndDestroy();
  }

  partition(): void {
    this.mode = 'partitioned';
  }

  heal(): void {
    this.mode = 'open';
    // Connections that lived through a partition may hold half-delivered protocol state: drop them.
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: net.Socket, target: { host: string; port: number }): void {
    if (this.mode === 'cut') return void client.resetAndDestroy();
    const upstream = net.connect(target);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(from);
      from.on('data', (chunk) => {
        if (this.mode === 'open') to.write(chunk);
      });
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }
}
