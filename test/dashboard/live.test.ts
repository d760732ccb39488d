/**
 * The dashboard's LiveConnection in Node against a `ws` server that answers `auth` with `welcome`
 * (Node 20 has no global WebSocket: the `ws` client stands in for the browser's).
 * The trading view creates its connection while rendering and listens to its state in an effect, which
 * runs after paint: a welcome that came first left the page showing `connecting` (and every quote
 * stale) for good — the dashboard search test's failure in full runs s8-7 and s9-9.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LiveConnection, type ConnectionState } from '../../dashboard/src/live.ts';

let server: WebSocketServer;
let url: string;

beforeAll(async () => {
  (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
  server.on('connection', (socket) => socket.on('message', (data) => JSON.parse(String(data)).type === 'auth' && socket.send(JSON.stringify({ type: 'welcome' }))));
});

afterAll(async () => {
  delete (globalThis as { WebSocket?: unknown }).WebSocket;
  for (const client of server.clients) client.terminate();
  await new Promise((resolve) => server.close(resolve));
});

it('tells a state listener added after the welcome that the connection is open', async () => {
  const live = new LiveConnection('token', url);
  await expect.poll(() => live.state).toBe('open');
  const seen: ConnectionState[] = [];
  const off = live.onState((state) => seen.push(state));
  expect(seen).toEqual(['open']);
  off();
  live.close();
});
