/**
 * Feature-flag registry: one flag per optimization, registered by the capability that owns it,
 * readable and switchable at runtime so every optimization can be turned off for before/after
 * measurements. Initial values come from TACHYON_FLAGS ("name=on,other=off") over defaults.
 *
 * A flag can also be rolled out: on for a percentage of accounts or of requests. Accounts are
 * placed by a stable hash of flag name and account id into 100,000 buckets and a flag at p% is on
 * for the buckets below p × 1,000, so an account never flips while the percentage only grows
 * (10% ⊂ 25%), and every instance places it the same way. The shared, persisted state comes from
 * src/flags/ (the database and the bus) through `apply`; `set` is this instance's local switch.
 *
 * Accessors are read on hot paths: a flag that is fully on or off costs one property read and a
 * branch; only a flag being rolled out hashes (see bench:flags).
 */
export interface FlagDefinition {
  name: string;
  description: string;
  default: boolean;
  /**
   * `instrumentation`: the flag switches a feature that costs (metrics, traces, logs), not an
   * optimization, so "every optimization off" (bench:attribution) leaves it at its default.
   */
  kind?: 'optimization' | 'instrumentation';
}

/** off/on: every caller; accounts: `percent`% of accounts (stable); requests: `percent`% of calls (random). */
export type RolloutMode = 'off' | 'on' | 'accounts' | 'requests';

export interface Rollout {
  mode: RolloutMode;
  /** 0–100; meaningful for `accounts` and `requests`. */
  percent: number;
  /** The experiment this rollout belongs to (src/flags/experiments.ts), while one runs. */
  experiment?: number | null;
}

export interface FlagState extends FlagDefinition {
  /** On for every caller (a partial rollout reports false here and its share in `rollout`). */
  enabled: boolean;
  /** `database`: the shared state every instance applies (src/flags/); `runtime`: this instance's local switch. */
  source: 'default' | 'config' | 'runtime' | 'database';
  rollout: Rollout;
}

/** An account id (or any stable subject) a rollout by accounts is decided for. */
export type FlagSubject = number | string;
/** A flag's accessor. Without a subject, a rollout by accounts answers off (the baseline cohort). */
export type FlagAccessor = (subject?: FlagSubject) => boolean;

type Listener = (name: string, enabled: boolean) => void;

/** Hash buckets per flag: percentages resolve to 0.001%. */
export const ROLLOUT_BUCKETS = 100_000;

interface Entry {
  definition: FlagDefinition;
  enabled: boolean;
  /** A partial rollout: the accessor must look at the subject (or draw). */
  partial: boolean;
  mode: RolloutMode;
  percent: number;
  /** Buckets below this are on. */
  threshold: number;
  /** FNV-1a state after the flag's name and a separator: accounts hash from here. */
  seed: number;
  experiment: number | null;
  source: FlagState['source'];
}

export class FeatureFlags {
  private readonly flags = new Map<string, Entry>();
  private readonly listeners = new Set<Listener>();
  /** Shared rollouts of flags not registered yet (applied when they register). */
  private readonly pending = new Map<string, Rollout>();

  /** @param overrides values from configuration, applied when a flag registers (or at once if it exists). */
  constructor(private readonly overrides: Readonly<Record<string, boolean>> = {}) {}

  /** Registers a flag and returns an accessor; registering the same name twice returns the same flag. */
  register(definition: FlagDefinition): FlagAccessor {
    let entry = this.flags.get(definition.name);
    if (!entry) {
      entry = { definition, enabled: false, partial: false, mode: 'off', percent: 0, threshold: 0, seed: seedOf(definition.name), experiment: null, source: 'default' };
      this.configured(entry);
      this.flags.set(definition.name, entry);
      const shared = this.pending.get(definition.name);
      if (shared) {
        this.pending.delete(definition.name);
        this.rollOut(entry, shared, 'database');
      }
    }
    const ref = entry;
    return (subject) => (ref.partial ? decide(ref, subject) : ref.enabled);
  }

  isEnabled(name: string, subject?: FlagSubject): boolean {
    const entry = this.flags.get(name);
    if (!entry) throw new RangeError(`unknown feature flag: ${name}`);
    return entry.partial ? decide(entry, subject) : entry.enabled;
  }

  has(name: string): boolean {
    return this.flags.has(name);
  }

  /** Switches a flag on this instance only (tests, benchmarks); returns false when no such flag is registered. */
  set(name: string, enabled: boolean): boolean {
    const entry = this.flags.get(name);
    if (!entry) return false;
    this.rollOut(entry, { mode: enabled ? 'on' : 'off', percent: enabled ? 100 : 0 }, 'runtime');
    return true;
  }

  /** Sets every registered flag at once (the "all optimizations off" baseline). */
  setAll(enabled: boolean): void {
    for (const name of this.flags.keys()) this.set(name, enabled);
  }

  /**
   * Applies the shared state of a flag (src/flags/): a rollout, or null for none (back to its
   * configuration and default). A flag not registered yet gets it when it registers.
   */
  apply(name: string, rollout: Rollout | null): void {
    const entry = this.flags.get(name);
    if (!entry) {
      if (rollout) this.pending.set(name, rollout);
      else this.pending.delete(name);
      return;
    }
    if (rollout) return this.rollOut(entry, rollout, 'database');
    this.configured(entry);
    this.notify(entry);
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(name: string): FlagState | undefined {
    const entry = this.flags.get(name);
    return entry && stateOf(entry);
  }

  list(): FlagState[] {
    return [...this.flags.values()].map(stateOf).sort((a, b) => a.name.localeCompare(b.name));
  }

  private configured(entry: Entry): void {
    const override = this.overrides[entry.definition.name];
    const on = override ?? entry.definition.default;
    Object.assign(entry, { enabled: on, partial: false, mode: on ? 'on' : 'off', percent: on ? 100 : 0, threshold: on ? ROLLOUT_BUCKETS : 0, experiment: null, source: override === undefined ? 'default' : 'config' });
  }

  private rollOut(entry: Entry, rollout: Rollout, source: FlagState['source']): void {
    const { mode, percent } = normalizeRollout(rollout);
    Object.assign(entry, {
      mode,
      percent,
      enabled: mode === 'on',
      partial: mode === 'accounts' || mode === 'requests',
      threshold: Math.round(percent * (ROLLOUT_BUCKETS / 100)),
      experiment: rollout.experiment ?? null,
      source,
    });
    this.notify(entry);
  }

  private notify(entry: Entry): void {
    for (const listener of this.listeners) listener(entry.definition.name, entry.enabled);
  }
}

/** 0% and 100% of anything are plain off and on (no hashing on the hot path); on and off carry 100 and 0. */
export function normalizeRollout(rollout: Rollout): Rollout {
  const percent = rollout.mode === 'on' ? 100 : rollout.mode === 'off' ? 0 : Math.min(100, Math.max(0, rollout.percent));
  const mode: RolloutMode = percent >= 100 ? 'on' : percent <= 0 ? 'off' : rollout.mode;
  return { mode, percent, experiment: rollout.experiment ?? null };
}

function stateOf(entry: Entry): FlagState {
  return {
    ...entry.definition,
    enabled: entry.enabled,
    source: entry.source,
    rollout: { mode: entry.mode, percent: entry.percent, experiment: entry.experiment },
  };
}

function decide(entry: Entry, subject: FlagSubject | undefined): boolean {
  if (entry.mode === 'requests') return Math.random() * ROLLOUT_BUCKETS < entry.threshold;
  return subject !== undefined && bucketFrom(entry.seed, subject) < entry.threshold;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnv(hash: number, text: string): number {
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  return hash;
}

function seedOf(name: string): number {
  return fnv(fnv(FNV_OFFSET, name), ':');
}

/** FNV-1a over a whole number's decimal digits, as `fnv(hash, String(n))` but without building the string. */
function fnvDigits(hash: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) return fnv(hash, String(n));
  let div = 1;
  while (div * 10 <= n) div *= 10;
  for (; div >= 1; div /= 10) hash = Math.imul(hash ^ (48 + (Math.floor(n / div) % 10)), FNV_PRIME);
  return hash;
}

function bucketFrom(seed: number, subject: FlagSubject): number {
  let h = typeof subject === 'number' ? fnvDigits(seed, subject) : fnv(seed, subject);
  // murmur3's finalizer: FNV's low bits are weak, the bucket is a remainder.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % ROLLOUT_BUCKETS;
}

/** The bucket (0 … ROLLOUT_BUCKETS−1) of a subject for a flag: on at p% when below p × 1,000. Same on every instance. */
export function rolloutBucket(name: string, subject: FlagSubject): number {
  return bucketFrom(seedOf(name), subject);
}

/** Parses "a=on,b=off" (also true/false/1/0). */
export function parseFlagOverrides(text: string): Record<string, boolean> {
  const result: Record<string, boolean> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name, raw] = part.split('=').map((p) => p.trim());
    const value = raw?.toLowerCase();
    if (!name || !value || !['on', 'off', 'true', 'false', '1', '0'].includes(value)) {
      throw new RangeError(`"${part}" is not name=on|off`);
    }
    result[name] = value === 'on' || value === 'true' || value === '1';
  }
  return result;
}
