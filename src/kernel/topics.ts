/**
 * The bus topic catalogue: every topic the platform publishes, its payload type, whether the Redis
 * bridge forwards it to other instances, and who publishes it. `MessageBus.publish/subscribe` are
 * typed by it, the bridge decides what to forward from it, and docs/architecture.md lists it (a
 * test keeps the doc's table equal to `topicTable()`). A new topic is added here first.
 *
 * The payload types are type-only imports: erased at build time, so the kernel depends on no
 * capability at run time.
 */
import type { StrategyEvent } from '../analysis/strategy-store.ts';
import type { FlagChange } from '../flags/rollouts.ts';
import type { Bar } from '../market-data/bar.ts';
import type { Tick } from '../market-data/feed.ts';
import type { FillEvent, OrderEvent, PortfolioEvent } from '../trading/dto.ts';
import type { EngineStateEvent } from '../trading/engine-state.ts';

export interface TopicSpec {
  /** The topic name, or its prefix when `subject` names what follows it. */
  readonly prefix: string;
  /** What the topic name ends with (`quote.<symbol>`); absent for a single fixed topic. */
  readonly subject?: string;
  /** The payload's type, as the docs name it (the compiler uses `TopicPayloads`). */
  readonly payload: string;
  /** Reaches every other instance in scaled mode: through the pub/sub bridge, or the event stream when `stream` is set. */
  readonly bridged: boolean;
  /**
   * Carried by the durable event stream (src/stream/, with offsets and replay) instead of pub/sub,
   * on the channel `<stream>:<subject>`; the WebSocket channel of the same name recovers from it.
   */
  readonly stream?: string;
  readonly publisher: string;
  readonly description: string;
}

export const TOPICS = {
  quote: {
    prefix: 'quote.',
    subject: 'symbol',
    payload: 'Tick',
    bridged: true,
    publisher: 'market-data feed (the feed leader)',
    description: 'a quote tick; followers apply the leader\'s ticks to their book',
  },
  bar: {
    prefix: 'bar.1m.',
    subject: 'symbol',
    payload: 'Bar',
    bridged: true,
    publisher: 'market-data service (bar writer)',
    description: 'a durable one-minute bar',
  },
  order: {
    prefix: 'order.',
    subject: 'accountId',
    stream: 'orders',
    payload: 'OrderEvent',
    bridged: true,
    publisher: 'trading engine (after commit)',
    description: 'an order changed state',
  },
  fill: {
    prefix: 'fill.',
    subject: 'accountId',
    stream: 'orders',
    payload: 'FillEvent',
    bridged: true,
    publisher: 'trading engine (after commit)',
    description: 'an execution',
  },
  portfolio: {
    prefix: 'portfolio.',
    subject: 'accountId',
    stream: 'portfolio',
    payload: 'PortfolioEvent',
    bridged: true,
    publisher: 'trading engine (after commit)',
    description: 'cash and the position a fill changed',
  },
  strategy: {
    prefix: 'strategy.',
    subject: 'strategyId',
    payload: 'StrategyEvent',
    bridged: true,
    publisher: 'analysis strategy performance',
    description: 'new performance figures with the owner (written through to the cache); `performance: null` when the strategy was deleted',
  },
  historyLoaded: {
    prefix: 'history.loaded',
    payload: '{ loadId: number }',
    bridged: false,
    publisher: 'market-data history watch (every instance polls the loads table)',
    description: 'history was (back)filled by some process: cached bars and figures computed from them are dropped',
  },
  engineState: {
    prefix: 'trading.engine.state',
    payload: 'EngineStateEvent',
    bridged: false,
    publisher: 'trading engine',
    description: "this instance's engine became active, halted, recovering or stopped",
  },
  flagChanged: {
    prefix: 'flag.changed',
    payload: 'FlagChange',
    bridged: true,
    publisher: 'flag rollouts (after the change commits)',
    description: 'a flag\'s shared state changed: every instance reloads it from the database',
  },
} as const satisfies Record<string, TopicSpec>;

/** Payload types by catalogue key: the compiler checks every key of `TOPICS` has one. */
export interface TopicPayloads {
  quote: Tick;
  bar: Bar;
  order: OrderEvent;
  fill: FillEvent;
  portfolio: PortfolioEvent;
  strategy: StrategyEvent;
  historyLoaded: { loadId: number };
  engineState: EngineStateEvent;
  flagChanged: FlagChange;
}

export type TopicKey = keyof typeof TOPICS & keyof TopicPayloads;
type Spec<K extends TopicKey> = (typeof TOPICS)[K];

/** The names of one catalogue topic: `quote.${string}`, or the fixed name. */
export type TopicOf<K extends TopicKey> = Spec<K> extends { subject: string } ? `${Spec<K>['prefix']}${string}` : Spec<K>['prefix'];
export type Topic = { [K in TopicKey]: TopicOf<K> }[TopicKey];
/** What one may subscribe to: a topic, or a catalogue prefix followed by `*`. */
export type TopicPattern = Topic | { [K in TopicKey]: Spec<K> extends { subject: string } ? `${Spec<K>['prefix']}*` : never }[TopicKey];
/** The payload a topic or pattern carries (a union when a pattern spans several families). */
export type PayloadOf<P extends string> = {
  [K in TopicKey]: P extends TopicOf<K> ? TopicPayloads[K] : P extends `${Spec<K>['prefix']}*` ? TopicPayloads[K] : never;
}[TopicKey];

/** The prefixes the pub/sub bus bridge forwards (the streamed ones travel on the event stream). */
export const BRIDGED_PREFIXES: readonly string[] = Object.values(TOPICS as Record<string, TopicSpec>)
  .filter((spec) => spec.bridged && !spec.stream)
  .map((spec) => spec.prefix);

/** Topics carried by the event stream: prefix → channel family (`order.` → `orders`). */
export const STREAMED_TOPICS: readonly { prefix: string; stream: string }[] = Object.values(TOPICS as Record<string, TopicSpec>).flatMap((spec) =>
  spec.stream ? [{ prefix: spec.prefix, stream: spec.stream }] : [],
);

/** The stream channel of a streamed topic (`fill.12` → `orders:12`), undefined for any other topic. */
export function streamChannelOf(topic: string): string | undefined {
  const route = STREAMED_TOPICS.find((r) => topic.startsWith(r.prefix));
  return route && `${route.stream}:${topic.slice(route.prefix.length)}`;
}

export function isBridged(topic: string): boolean {
  return BRIDGED_PREFIXES.some((prefix) => topic.startsWith(prefix));
}

/** The catalogue as a Markdown table (docs/architecture.md holds a copy; a test compares them). */
export function topicTable(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const rows = Object.values(TOPICS as Record<string, TopicSpec>).map((spec) => {
    const name = spec.subject ? `${spec.prefix}<${spec.subject}>` : spec.prefix;
    return `| \`${name}\` | \`${cell(spec.payload)}\` | ${spec.stream ? `stream (\`${spec.stream}:<${spec.subject}>\`)` : spec.bridged ? 'yes' : 'no'} | ${cell(spec.publisher)} | ${cell(spec.description)} |`;
  });
  return ['| Topic | Payload | Bridged | Publisher | Meaning |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}
