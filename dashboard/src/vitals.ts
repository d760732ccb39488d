/**
 * Field measurements: the page's own FCP, LCP, INP, CLS and TTFB (web-vitals), sent to POST /api/rum
 * once a token is there (the sign-in page measures too, and reports after sign-in), and when the page
 * is hidden (keepalive: the request outlives the page).
 */
import { onCLS, onFCP, onINP, onLCP, onTTFB, type Metric } from 'web-vitals';
import { storedToken } from './session.ts';

export type RumPage = 'signin' | 'trading' | 'performance';

export function reportWebVitals(page: RumPage): { flush: () => void } {
  const pending = new Map<string, number>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    const token = storedToken();
    if (!token || pending.size === 0) return;
    const metrics = [...pending].map(([name, value]) => ({ name, value }));
    pending.clear();
    void fetch('/api/rum', {
      method: 'POST',
      keepalive: true,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ page, metrics }),
    }).catch(() => {});
  };
  const record = (metric: Metric) => {
    pending.set(metric.name, metric.value);
    clearTimeout(timer);
    // A short wait gathers the metrics reported together (FCP and TTFB) into one request.
    timer = setTimeout(flush, 1000);
  };
  for (const on of [onFCP, onLCP, onINP, onCLS, onTTFB]) on(record);
  addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') flush();
  });
  return { flush };
}
