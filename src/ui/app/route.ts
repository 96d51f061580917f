/** Hash routes: the page is one file, so every view is a fragment (#/zone/example.com/history). */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'zones' }
  | { page: 'zone'; zone: string; tab: 'records' | 'history' | 'time' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'zone' && parts[1]) {
    const tab = parts[2] === 'history' ? 'history' : parts[2] === 'time' ? 'time' : 'records';
    return { page: 'zone', zone: parts[1], tab };
  }
  return { page: 'zones' };
}

export function zoneHref(zone: string, tab: 'records' | 'history' | 'time' = 'records'): string {
  return `#/zone/${encodeURIComponent(zone)}${tab === 'records' ? '' : `/${tab}`}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
