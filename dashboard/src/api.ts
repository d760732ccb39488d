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

export async function api<T>(path: string, options: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${options.token ?? storedToken() ?? ''}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method: options.method ?? 'GET', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
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
