/** The signed-in token, kept for this tab only (sessionStorage), never in a URL. */
const KEY = 'tachyon.token';

export type Role = 'trader' | 'admin';

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
