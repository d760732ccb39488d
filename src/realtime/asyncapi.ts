/**
 * The /ws protocol as an AsyncAPI 3.0 document, built from the TypeBox schemas the gateway and the
 * client are typed by (protocol.ts, trading/dto.ts, observability/live-snapshot.ts), so the
 * description cannot drift from the code.
 * Served at GET /api/realtime/asyncapi.json and written to docs/websocket.asyncapi.json by
 * scripts/write-asyncapi.ts (a test checks the committed file matches).
 */
import type { TSchema } from '@sinclair/typebox';
import { LiveSnapshotSchema } from '../observability/live-snapshot.ts';
import { FillEventSchema, OrderEventSchema, PortfolioEventSchema } from '../trading/dto.ts';
import { BarDataSchema, CLIENT_FRAMES, CloseCode, QuoteDataSchema, SERVER_FRAMES, SUBPROTOCOLS } from './protocol.ts';

/** Plain JSON without TypeBox's symbol keys and without `$id` (names live in `components`). */
function plain(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema, (key, value: unknown) => (key === '$id' ? undefined : value)));
}

function messages(frames: readonly TSchema[]): Record<string, unknown> {
  return Object.fromEntries(frames.map((frame) => [frame.$id!, { name: frame.$id, summary: frame.description, payload: plain(frame) }]));
}

const CHANNEL_PAYLOADS = [
  { name: 'quotes:SYMBOL', schema: QuoteDataSchema },
  { name: 'bars:SYMBOL:1m', schema: BarDataSchema },
  { name: 'orders[:accountId] (event "order")', schema: OrderEventSchema },
  { name: 'orders[:accountId] (event "fill")', schema: FillEventSchema },
  { name: 'portfolio[:accountId]', schema: PortfolioEventSchema },
  { name: 'metrics (admins only)', schema: LiveSnapshotSchema },
];

export function asyncApiDocument(version: string): Record<string, unknown> {
  const ref = (name: string) => ({ $ref: `#/channels/ws/messages/${name}` });
  const operations: Record<string, unknown> = {};
  for (const frame of CLIENT_FRAMES) operations[`send_${frame.$id}`] = { action: 'receive', channel: { $ref: '#/channels/ws' }, messages: [ref(frame.$id!)], summary: `client sends ${frame.$id}` };
  for (const frame of SERVER_FRAMES) operations[`receive_${frame.$id}`] = { action: 'send', channel: { $ref: '#/channels/ws' }, messages: [ref(frame.$id!)], summary: `server sends ${frame.$id}` };
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Tachyon real-time API',
      version,
      description: [
        'One WebSocket at /ws. Authenticate with `Authorization: Bearer <token>` on the upgrade, or send an `auth` frame first (browsers).',
        `Subprotocols: ${[...SUBPROTOCOLS.json].join(' or ')} for JSON text frames (also when none is asked), ${[...SUBPROTOCOLS.msgpack].join(' or ')} for MessagePack binary frames.`,
        'Frames sent while an `auth` frame is being checked are handled after `welcome`, in order; any other frame before authentication is answered by an `unauthorized` error frame.',
        'Prices on quotes and bars channels are integers in units of 1/10,000 (welcome.priceScale); orders and portfolio payloads are the REST shapes, in decimals.',
        `Close codes: ${Object.entries(CloseCode).map(([name, code]) => `${code} ${name}`).join(', ')}.`,
        'See docs/websocket.md.',
      ].join('\n\n'),
    },
    defaultContentType: 'application/json',
    servers: { local: { host: 'localhost:3000', protocol: 'ws', pathname: '/ws', description: 'the embedded default (`npm start`)' } },
    channels: {
      ws: {
        address: '/ws',
        description: 'Every frame of the protocol travels on the one socket; `batch` frames carry channel events.',
        messages: { ...messages(CLIENT_FRAMES), ...messages(SERVER_FRAMES) },
      },
    },
    operations,
    components: {
      schemas: Object.fromEntries(CHANNEL_PAYLOADS.map(({ schema }) => [schema.$id!, plain(schema)])),
      'x-channel-payloads': Object.fromEntries(CHANNEL_PAYLOADS.map(({ name, schema }) => [name, { $ref: `#/components/schemas/${schema.$id!}` }])),
    },
  };
}

/** The committed file's text (docs/websocket.asyncapi.json). */
export function asyncApiJson(version: string): string {
  return JSON.stringify(asyncApiDocument(version), null, 2) + '\n';
}
