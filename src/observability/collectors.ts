/**
 * Turns a component's own stats object (cache stats(), WebSocket stats(), task-queue stats()) into
 * Prometheus samples at scrape time, so components keep their cheap counters and pay nothing per
 * operation for exposition. Numeric leaves become samples named `tachyon_<collector>_<key_path>`;
 * maps whose keys are data (cache classes, task types) become labels, declared in the shape.
 */
export interface CollectorShape {
  /**
   * Key path ('' for the root) → label names for the levels of keys beneath it that are data,
   * not field names. `{ byType: ['type'] }` turns `byType.backtest.queued` into `queued{type="backtest"}`.
   */
  labels?: Readonly<Record<string, readonly string[]>>;
  /** Key paths (dots, label levels skipped) of cumulative values: typed counter, suffixed `_total`. */
  counters?: readonly string[];
}

/** Any stats object (interfaces included, hence `object` rather than a record type). */
export type StatsSource = () => object | Promise<object>;

export interface Sample {
  name: string;
  keyPath: string;
  type: 'gauge' | 'counter';
  labels: Record<string, string>;
  value: number;
}

export function snakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .toLowerCase();
}

export function samplesOf(collector: string, stats: object, shape: CollectorShape = {}): Sample[] {
  const out: Sample[] = [];
  const counters = new Set(shape.counters ?? []);
  // `pending` is null until the node's label spec has been looked up, then the label levels left.
  const walk = (node: unknown, name: string[], keyPath: string, labels: Record<string, string>, pending: readonly string[] | null): void => {
    if (typeof node === 'number' || typeof node === 'boolean') {
      const value = Number(node);
      if (!Number.isFinite(value)) return;
      const counter = counters.has(keyPath);
      out.push({ name: name.join('_') + (counter ? '_total' : ''), keyPath, type: counter ? 'counter' : 'gauge', labels, value });
      return;
    }
    if (!node || typeof node !== 'object') return;
    const levels = pending ?? shape.labels?.[keyPath] ?? [];
    const [label, ...rest] = levels;
    for (const [key, child] of Object.entries(node)) {
      if (label) walk(child, name, keyPath, { ...labels, [label]: key }, rest);
      else {
        const path = keyPath ? `${keyPath}.${key}` : key;
        // A map of data keys names no metric: `byType.x.queued` is `queued{type="x"}`.
        walk(child, shape.labels?.[path] ? name : [...name, snakeCase(key)], path, labels, null);
      }
    }
  };
  walk(stats, ['tachyon', snakeCase(collector)], '', {}, null);
  return out;
}

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** Prometheus text exposition (version 0.0.4) of one collector's samples. */
export function exposition(collector: string, samples: readonly Sample[]): string {
  const byName = new Map<string, Sample[]>();
  for (const s of samples) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  let text = '';
  for (const [name, group] of byName) {
    text += `# HELP ${name} ${collector} stats: ${group[0]!.keyPath}\n# TYPE ${name} ${group[0]!.type}\n`;
    for (const s of group) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      text += `${name}${labels.length ? `{${labels.join(',')}}` : ''} ${s.value}\n`;
    }
  }
  return text;
}
