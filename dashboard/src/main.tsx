/** The dashboard shell: sign-in, the views the token's role allows, each view loaded on demand. */
import { render, type ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Lazy } from './lazy.tsx';
import { ApiError, onFreshness, roleOf, type Freshness } from './api.ts';
import { forgetToken, storedToken, storeToken, type Role } from './session.ts';
import { reportWebVitals, type RumPage } from './vitals.ts';

type View = 'trading' | 'performance';

const VIEWS: Record<View, () => Promise<ComponentType>> = {
  trading: () => import('./trading/trading-view.tsx').then((m) => m.TradingView),
  performance: () => import('./performance/performance-view.tsx').then((m) => m.PerformanceView),
};

const vitals = reportWebVitals(initialPage());

// With a token kept, its check and the view's chunk start at once, before the first render, rather
// than one after the other (bench:dashboard); Lazy's own import() then finds the chunk loaded.
const keptToken = storedToken();
const keptRole = keptToken ? roleOf(keptToken) : undefined;
if (keptToken) void VIEWS[viewOf(location.hash)]().catch(() => {});

// The app shell and last known data for offline starts (dashboard/build/service-worker.ts); absent in `vite dev`.
// Registered once the page has loaded: its install fetches every asset, which would compete with the first paint.
if ('serviceWorker' in navigator && import.meta.env.PROD) {
  addEventListener('load', () => {
    navigator.serviceWorker.register('/dashboard/sw.js', { scope: '/dashboard' }).catch((error: Error) => console.warn('service worker:', error.message));
  }, { once: true });
}

function signOut(): void {
  forgetToken();
  navigator.serviceWorker?.controller?.postMessage({ type: 'sign-out' });
}

/** Says so when what is shown is the service worker's last known data, the platform being unreachable. */
function StaleBanner() {
  const [stale, setStale] = useState<Freshness>();
  useEffect(() => onFreshness(setStale), []);
  if (stale === undefined) return null;
  return (
    <p class="error stale-banner" role="status" data-testid="stale-banner">
      The platform is unreachable: {stale > 0 ? `showing data from ${new Date(stale).toLocaleTimeString()} (stale)` : 'no data kept for this page'}.
    </p>
  );
}

function initialPage(): RumPage {
  if (!storedToken()) return 'signin';
  return viewOf(location.hash);
}

function viewOf(hash: string): View {
  return hash === '#performance' ? 'performance' : 'trading';
}

function SignIn({ onSignedIn }: { onSignedIn: (role: Role) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      const role = await roleOf(token.trim());
      storeToken(token.trim());
      onSignedIn(role);
    } catch (e) {
      setError(e instanceof ApiError && e.problem.status === 401 ? 'This token is not valid.' : String((e as Error).message));
    }
  };
  return (
    <form class="signin" onSubmit={submit}>
      <h1>Tachyon</h1>
      <label>
        API token
        <input name="token" type="password" autocomplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
      </label>
      <button class="primary" type="submit">Sign in</button>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}

function App() {
  const [role, setRole] = useState<Role>();
  const [checking, setChecking] = useState(keptRole !== undefined);
  const [view, setView] = useState<View>(viewOf(location.hash));

  useEffect(() => {
    // Only a refused token is forgotten: an unreachable platform leaves it for the next try.
    keptRole
      ?.then((r) => storedToken() === keptToken && setRole(r), (e: unknown) => {
        if (e instanceof ApiError && e.problem.status === 401) signOut();
      })
      .finally(() => setChecking(false));
  }, []);
  useEffect(() => {
    if (role) vitals.flush();
  }, [role]);
  // Links and the address bar choose the view too.
  useEffect(() => {
    const follow = () => setView(viewOf(location.hash));
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, []);

  const go = (next: View) => {
    history.replaceState(null, '', next === 'performance' ? '#performance' : '#');
    setView(next);
  };
  if (!role && !checking) return <SignIn onSignedIn={setRole} />;
  // Every role may trade: the trading view starts while a kept token is checked (it paints a round
  // trip sooner; a refused token brings the sign-in back). The performance view waits for the role.
  if (!role && view !== 'trading') return <p class="muted">Signing in…</p>;
  // A trader who asks for the performance view (a link, the address bar) is told so, not shown it.
  const allowed = view === 'trading' || role === 'admin';
  return (
    <>
      <header>
        <h1>Tachyon</h1>
        <nav>
          <button aria-current={view === 'trading' ? 'page' : undefined} onClick={() => go('trading')}>Trading</button>
          {role === 'admin' && <button aria-current={view === 'performance' ? 'page' : undefined} onClick={() => go('performance')}>Performance</button>}
        </nav>
        <span class="muted">{role ?? '…'}</span>
        <button
          onClick={() => {
            signOut();
            setRole(undefined);
            setChecking(false);
          }}
        >
          Sign out
        </button>
      </header>
      <StaleBanner />
      {allowed ? <Lazy load={VIEWS[view]} /> : <main><section class="wide"><h2>Performance</h2><p class="error" role="alert">The performance view needs an admin token.</p></section></main>}
    </>
  );
}

const root = document.getElementById('app')!;
// The HTML shell's placeholder goes: Preact renders beside what it did not create.
root.textContent = '';
render(<App />, root);
