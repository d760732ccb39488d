/** Local HTTP servers for load-test tests: an instant one, and one that stalls for a known time. */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  url: string;
  requests: () => number;
  /** Requests answered so far (a held request counts once its delay has passed). */
  answered: () => number;
  close: () => Promise<void>;
}

/**
 * Answers each request after `delayFor(now)` ms (0 = at once). `stall(fromMs, forMs)` style schedules
 * are expressed through delayFor, so a test knows exactly how long each request was held.
 */
export async function startServer(delayFor: (receivedAt: number) => number = () => 0): Promise<TestServer> {
  let count = 0;
  let answered = 0;
  const server: Server = createServer((req, res) => {
    count++;
    const wait = delayFor(Date.now());
    const reply = (): void => {
      answered++;
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    };
    if (wait > 0) setTimeout(reply, wait);
    else reply();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => count,
    answered: () => answered,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
