/**
 * Feature-flag registry: one flag per optimization, registered by the capability that owns it,
 * readable and switchable at runtime so every optimization can be turned off for before/after
 * measurements. Initial values come from TACHYON_FLAGS ("name=on,other=off") over defaults.
 */
export interface FlagDefinition {
  name: string;
  description: string;
  default: boolean;
}

export interface FlagState extends FlagDefinition {
  enabled: boolean;
  source: 'default' | 'config' | 'runtime';
}

type Listener = (name: string, enabled: boolean) => void;

export class FeatureFlags {
  private readonly flags = new Map<string, FlagState>();
  private readonly listeners = new Set<Listener>();

  /** @param overrides values from configuration, applied when a flag registers (or at once if it exists). */
  constructor(private readonly overrides: Readonly<Record<string, boolean>> = {}) {}

  /** Registers a flag and returns an accessor; registering the same name twice returns the same flag. */
  register(definition: FlagDefinition): () => boolean {
    let state = this.flags.get(definition.name);
    if (!state) {
      const override = this.overrides[definition.name];
      state = {
        ...definition,
        enabled: override ?? definition.default,
        source: override === undefined ? 'default' : 'config',
      };
      this.flags.set(definition.name, state);
    }
    const ref = state;
    return () => ref.enabled;
  }

  isEnabled(name: string): boolean {
    const state = this.flags.get(name);
    if (!state) throw new RangeError(`unknown feature flag: ${name}`);
    return state.enabled;
  }

  /** Switches a flag at runtime; returns false when no such flag is registered. */
  set(name: string, enabled: boolean): boolean {
    const state = this.flags.get(name);
    if (!state) return false;
    state.enabled = enabled;
    state.source = 'runtime';
    for (const listener of this.listeners) listener(name, enabled);
    return true;
  }

  /** Sets every registered flag at once (the "all optimizations off" baseline). */
  setAll(enabled: boolean): void {
    for (const name of this.flags.keys()) this.set(name, enabled);
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): FlagState[] {
    return [...this.flags.values()].map((s) => ({ ...s })).sort((a, b) => a.name.localeCompare(b.name));
  }
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
