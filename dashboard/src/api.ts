/** The platform's REST API with the session's token; errors carry the server's problem+json as sent. */
import { storedToken, type Role } from './session.ts';

export interface Problem {
  status: number;
  title?: string;
  detail?: string;
  code?: string;
  /** Sent with 503 `history_loading` (and other 503s and 429s): when to ask again. */
  retryAfterSeconds?: number;
  percent?: number;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
  }
}

/**
 * When the platform is unreachable the service worker (dashboard/build/service-worker.ts) answers
 * GETs with the last known data and this header (when it was fetched, ms since epoch; 0: nothing kept).
 */
const STALE_HEADER = 'x-tachyon-stale';

/** undefined while answers come from the platform; else since when the data shown is stale (0: no data). */
export type Freshness = number | undefined;
const freshnessListeners = new Set<(stale: Freshness) => void>();
let freshness: Freshness;

/** Calls `listener` whenever answers switch between live and stale (kept by the service worker); returns the unsubscribe. */
export function onFreshness(listener: (stale: Freshness) => void): () => void {
  freshnessListeners.add(listener);
  listener(freshness);
  return () => freshnessListeners.delete(listener);
}

function noteFreshness(response: Response): void {
  const header = response.headers.get(STALE_HEADER);
  const next = header === null ? undefined : Math.min(Number(header), freshness ?? Infinity);
  if (next === freshness) return;
  freshness = next;
  for (const listener of freshnessListeners) listener(next);
}

export async function api<T>(path: string, options: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${options.token ?? storedToken() ?? ''}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method: options.method ?? 'GET', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  noteFreshness(response);
  if (response.status === 204) return undefined as T;
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError({ status: response.status, ...body });
  return body as T;
}

/**
 * The token's role: an admin route answers 200 to an admin and 403 to anyone else signed in; 401
 * means the token is not valid (thrown).
 */
export async function roleOf(token: string): Promise<Role> {
  try {
    await api('/api/admin/flags', { token });
    return 'admin';
  } catch (error) {
    if (error instanceof ApiError && error.problem.status === 403) return 'trader';
    throw error;
  }
}
