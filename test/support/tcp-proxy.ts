/**
 * A TCP proxy a test controls, for cutting a server without touching it: `cut()` drops every
 * connection and refuses new ones (the listener closes, so connects fail at once); `stall()` drops
 * every connection and accepts new ones without ever forwarding them (a balancer that took a
 * connection and lost its backend: those stay silent after a restore); `restore()` forwards new
 * connections again, on the same port. Listens on 127.0.0.1, on the first free port of a range.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  stall(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }, ports: { from: number; to: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let stalled = false;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const makeServer = () =>
    net.createServer((client) => {
      track(client);
      if (stalled) return;
      const upstream = net.connect(target.port, target.host);
      track(upstream);
      client.pipe(upstream).pipe(client);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
  const listen = (server: net.Server, port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });

  let server = makeServer();
  let port = 0;
  for (let candidate = ports.from; candidate <= ports.to && port === 0; candidate++) {
    try {
      await listen(server, candidate);
      port = candidate;
    } catch {
      server = makeServer();
    }
  }
  if (port === 0) throw new Error(`no free port in ${ports.from}-${ports.to} for the TCP proxy`);

  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  const stop = async () => {
    dropAll();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    port,
    cut: stop,
    stall() {
      stalled = true;
      dropAll();
    },
    async restore() {
      stalled = false;
      if (server.listening) return;
      server = makeServer();
      await listen(server, port);
    },
    close: stop,
  };
}
