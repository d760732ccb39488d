/** A component loaded on first render (its own chunk): views, and panels too heavy for the first paint. */
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';

// `object`, not `{}`: a component without props is loaded with none.
export function Lazy<P extends object>({ load, props, placeholder = 'Loading…' }: { load: () => Promise<ComponentType<P>>; props?: P; placeholder?: string }) {
  const [Component, setComponent] = useState<ComponentType<P>>();
  useEffect(() => {
    let current = true;
    setComponent(undefined);
    void load().then((c) => current && setComponent(() => c));
    return () => {
      current = false;
    };
  }, [load]);
  return Component ? <Component {...(props ?? ({} as P))} /> : <p class="muted">{placeholder}</p>;
}
