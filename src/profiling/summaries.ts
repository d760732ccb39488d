/**
 * Server-side summaries of the profiles the inspector produces, so an operator gets the answer without
 * opening DevTools: top functions by self time (CPU), top allocation sites (heap sampling), size and
 * count by constructor (heap snapshot), and the growth between two snapshots by constructor (leaks).
 * Frames are named `function (file:line)` with paths relative to the working directory.
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** The subset of a `.cpuprofile` (Chrome DevTools format) the summary reads. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** The subset of a `.heapprofile` (sampling heap profile) the summary reads. */
export interface SamplingHeapProfile {
  head: SamplingNode;
}
interface SamplingNode {
  callFrame: CallFrame;
  selfSize: number;
  children: SamplingNode[];
}

export interface FrameCost {
  frame: string;
  /** Self time in ms (CPU) or self bytes (allocations). */
  self: number;
  /** Share of the profile's total. */
  share: number;
}

export interface ConstructorSize {
  name: string;
  count: number;
  selfBytes: number;
}

const cwd = process.cwd();

export function frameName(frame: CallFrame): string {
  const fn = frame.functionName || '(anonymous)';
  if (!frame.url) return fn;
  const path = frame.url.startsWith('file://') ? relative(cwd, fileURLToPath(frame.url)) : frame.url;
  return `${fn} (${path}:${frame.lineNumber + 1})`;
}

function top(costs: Map<string, number>, total: number, limit: number): FrameCost[] {
  return [...costs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([frame, self]) => ({ frame, self, share: total > 0 ? self / total : 0 }));
}

/** Self time per function (ms): each sample's time delta is charged to the frame on top of the stack. */
export function summarizeCpuProfile(profile: CpuProfile, limit = 20): { durationMs: number; samples: number; topSelf: FrameCost[] } {
  const nameOf = new Map(profile.nodes.map((n) => [n.id, frameName(n.callFrame)]));
  const self = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let total = 0;
  // timeDeltas[i] is the time before sample i: it belongs to the previous sample's frame.
  for (let i = 1; i < samples.length; i++) {
    const ms = (deltas[i] ?? 0) / 1000;
    const name = nameOf.get(samples[i - 1]!) ?? '(unknown)';
    self.set(name, (self.get(name) ?? 0) + ms);
    total += ms;
  }
  return { durationMs: (profile.endTime - profile.startTime) / 1000, samples: samples.length, topSelf: top(self, total, limit).map((c) => ({ ...c, self: round(c.self) })) };
}

/** Bytes allocated (and still live at the end of sampling) per allocation site. */
export function summarizeHeapSampling(profile: SamplingHeapProfile, limit = 20): { totalBytes: number; topSites: FrameCost[] } {
  const self = new Map<string, number>();
  let total = 0;
  const stack = [profile.head];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.selfSize > 0) {
      const name = frameName(node.callFrame);
      self.set(name, (self.get(name) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    stack.push(...node.children);
  }
  return { totalBytes: total, topSites: top(self, total, limit) };
}

/** The subset of a `.heapsnapshot` the summary reads (V8's flat node array described by its meta). */
export interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/**
 * Count and self (shallow) size per constructor. Retained sizes need the dominator tree of the whole
 * graph; growth in shallow size by constructor between two snapshots names a leak well enough, and
 * costs one pass over the node array.
 */
export function sizesByConstructor(snapshot: HeapSnapshot): Map<string, ConstructorSize> {
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snapshot.snapshot.meta.node_types[0];
  const out = new Map<string, ConstructorSize>();
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]!];
    // Objects are named by their constructor; other kinds (strings, code, arrays…) by their type.
    const name = type === 'object' || type === 'native' ? strings[nodes[i + nameAt]!]! : `(${type})`;
    const entry = out.get(name) ?? { name, count: 0, selfBytes: 0 };
    entry.count++;
    entry.selfBytes += nodes[i + sizeAt]!;
    out.set(name, entry);
  }
  return out;
}

/** Plain objects, arrays and V8's internal kinds: containers that say nothing about who keeps them. */
function isGeneric(type: string | undefined, name: string): boolean {
  return type !== 'object' || name === 'Object' || name === 'Array' || name.startsWith('system /');
}

/**
 * Size owned per constructor: every object's self size is charged to its nearest named ancestor on the
 * shortest path from the GC roots (a breadth-first tree, weak edges skipped), so the plain objects and
 * arrays a leaking `OrderBookEntry` holds count as that constructor's. An approximation of retained
 * size (the dominator tree) that costs one pass over nodes and edges.
 */
export function ownedSizesByConstructor(snapshot: HeapSnapshot): Map<string, ConstructorSize> {
  const { meta } = snapshot.snapshot;
  const width = meta.node_fields.length;
  const typeAt = meta.node_fields.indexOf('type');
  const nameAt = meta.node_fields.indexOf('name');
  const sizeAt = meta.node_fields.indexOf('self_size');
  const edgeCountAt = meta.node_fields.indexOf('edge_count');
  const edgeWidth = meta.edge_fields.length;
  const edgeTypeAt = meta.edge_fields.indexOf('type');
  const toAt = meta.edge_fields.indexOf('to_node');
  const weak = meta.edge_types[0].indexOf('weak');
  const types = meta.node_types[0];
  const { nodes, edges, strings } = snapshot;
  const count = nodes.length / width;
  const firstEdge = new Uint32Array(count + 1);
  for (let n = 0; n < count; n++) firstEdge[n + 1] = firstEdge[n]! + nodes[n * width + edgeCountAt]! * edgeWidth;
  // owner[n]: the node whose constructor n's size is charged to (itself when named); -1 = unvisited.
  const owner = new Int32Array(count).fill(-1);
  const queue = new Uint32Array(count);
  let head = 0;
  let tail = 0;
  owner[0] = 0;
  queue[tail++] = 0;
  const named = (n: number) => !isGeneric(types[nodes[n * width + typeAt]!], strings[nodes[n * width + nameAt]!]!);
  while (head < tail) {
    const n = queue[head++]!;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += edgeWidth) {
      if (edges[e + edgeTypeAt] === weak) continue;
      const to = edges[e + toAt]! / width;
      if (owner[to] !== -1) continue;
      owner[to] = named(to) ? to : owner[n]!;
      queue[tail++] = to;
    }
  }
  const out = new Map<string, ConstructorSize>();
  for (let n = 0; n < count; n++) {
    const o = owner[n]!;
    const name = o <= 0 ? '(roots)' : strings[nodes[o * width + nameAt]!]!;
    const entry = out.get(name) ?? { name, count: 0, selfBytes: 0 };
    if (o === n) entry.count++;
    entry.selfBytes += nodes[n * width + sizeAt]!;
    out.set(name, entry);
  }
  return out;
}

export function topConstructors(sizes: Map<string, ConstructorSize>, limit = 20): ConstructorSize[] {
  return [...sizes.values()].sort((a, b) => b.selfBytes - a.selfBytes).slice(0, limit);
}

export interface ConstructorGrowth {
  name: string;
  countDelta: number;
  bytesDelta: number;
}

/** What grew between two snapshots, largest growth in bytes first. */
export function diffConstructors(before: Map<string, ConstructorSize>, after: Map<string, ConstructorSize>, limit = 20): ConstructorGrowth[] {
  const growth: ConstructorGrowth[] = [];
  for (const [name, now] of after) {
    const then = before.get(name);
    const bytesDelta = now.selfBytes - (then?.selfBytes ?? 0);
    if (bytesDelta > 0) growth.push({ name, countDelta: now.count - (then?.count ?? 0), bytesDelta });
  }
  return growth.sort((a, b) => b.bytesDelta - a.bytesDelta).slice(0, limit);
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
