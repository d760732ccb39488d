/**
 * GET /ws: the WebSocket endpoint, a thin adapter from `ws` sockets to the gateway. A token in the
 * upgrade's Authorization header authenticates before the upgrade (a bad one answers 401 and no
 * socket opens); without a header the first message must be `{type:'auth', token}` (browsers cannot
 * set headers). Tokens never appear in URLs, so they cannot leak into access logs.
 */
import websocket from '@fastify/websocket';
import type { FastifyPluginAsync } from 'fastify';
import type { Authenticator } from '../auth/authenticator.ts';
import type { RealtimeConfig, RealtimeGateway } from './gateway.ts';
import { VERSION } from '../version.ts';
import { asyncApiDocument } from './asyncapi.ts';
import { chooseSubprotocol, formatOf } from './protocol.ts';

/** Client frames up to this multiple of maxMessageBytes get an error frame; beyond it ws closes with 1009. */
const HARD_PAYLOAD_FACTOR = 4;

export function realtimeRoutes(gateway: RealtimeGateway, authenticator: Authenticator, config: RealtimeConfig): FastifyPluginAsync {
  return async (app) => {
    await app.register(websocket, {
      options: {
        maxPayload: config.maxMessageBytes * HARD_PAYLOAD_FACTOR,
        handleProtocols: (offered: Set<string>) => chooseSubprotocol(offered),
        // Level 1, a 4 KiB window and small memLevel: per-connection zlib state stays ~20 KB instead
        // of ~300 KB, which matters at thousands of connections; clients send little, so their
        // frames are compressed without context takeover (no inflate window kept per connection).
        perMessageDeflate: config.deflate
          ? { threshold: config.deflateThresholdBytes, serverMaxWindowBits: 12, clientNoContextTakeover: true, zlibDeflateOptions: { level: 1, memLevel: 4 } }
          : false,
      },
    });
    const asyncApi = asyncApiDocument(VERSION);
    app.get(
      '/api/realtime/asyncapi.json',
      { config: { access: 'public' }, schema: { tags: ['realtime'], summary: 'The /ws protocol as an AsyncAPI 3.0 document (generated from the code; also docs/websocket.asyncapi.json)' } },
      async () => asyncApi,
    );
    app.get(
      '/ws',
      {
        websocket: true,
        config: { access: 'public' },
        schema: { hide: true },
        preValidation: async (request) => {
          if (request.headers.authorization !== undefined) request.principal = await authenticator.authenticate(request.headers.authorization, request.ip);
        },
      },
      (socket, request) => {
        const format = formatOf(socket.protocol);
        const connection = gateway.accept(socket, request.principal, format, request.ip);
        // binaryType is 'nodebuffer' (the default): every message arrives as one Buffer.
        socket.on('message', (data, isBinary) => gateway.receive(connection, data as Buffer, isBinary));
        socket.on('pong', () => gateway.touch(connection));
        socket.on('close', () => gateway.release(connection));
        socket.on('error', (error) => request.log.debug({ err: error }, 'websocket error'));
      },
    );
  };
}
