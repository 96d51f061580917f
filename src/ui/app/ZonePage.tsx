/**
 * One zone: its header (serial, record count) and three tabs: Records, History, Time travel. Live
 * changes for the zone (from the session's feed) reload what is shown and are announced.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, z } from './api.ts';
import { label, when } from './format.ts';
import { HistoryTab } from './HistoryTab.tsx';
import { applyEvents } from './live.ts';
import { Records } from './Records.tsx';
import { zoneHref } from './route.ts';
import { TimeTravel } from './TimeTravel.tsx';
import type { DnsRecord, LiveChange, Session, Zone } from './types.ts';

/** Left and right arrows move between the tabs (the ARIA tabs pattern); Tab leaves the tab list. */
function moveBetweenTabs(e: KeyboardEvent): void {
  if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
  const tabs = [...(e.currentTarget as HTMLElement).querySelectorAll<HTMLAnchorElement>('[role=tab]')];
  const at = tabs.indexOf(document.activeElement as HTMLAnchorElement);
  if (at < 0) return;
  e.preventDefault();
  const next = tabs[(at + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
  next.focus();
  next.click();
}

export function ZonePage(p: { session: Session; zone: string; tab: 'records' | 'history' | 'time'; live?: LiveChange }) {
  const [zone, setZone] = useState<Zone | null | undefined>();
  const [records, setRecords] = useState<DnsRecord[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [news, setNews] = useState<string | undefined>();
  const [version, setVersion] = useState(0);
  const name = p.zone.replace(/\.$/, '');

  const mine = (p.live?.events ?? []).filter((e) => e.zone === name);
  const liveKey = mine.length > 0 ? p.live?.seq : undefined;
  // Live record changes are applied in place; anything else (SOA, restore, import) reloads.
  const [reloadKey, setReloadKey] = useState(0);
  useEffect(() => {
    if (mine.length === 0 || !zone || !records) return;
    const next = applyEvents(zone, records, mine);
    if (!next) return setReloadKey((k) => k + 1);
    setZone(next.zone);
    setRecords(next.records);
  }, [liveKey]);

  useEffect(() => {
    let gone = false;
    Promise.all([
      api<{ zone: Zone }>(p.session.token, 'GET', `/v1/zones/${z(name)}`),
      api<{ records: DnsRecord[] }>(p.session.token, 'GET', `/v1/zones/${z(name)}/records`),
    ])
      .then(([a, b]) => {
        if (gone) return;
        setZone(a.zone);
        setRecords(b.records);
        setError(undefined);
      })
      .catch((err) => {
        if (gone) return;
        if (err.status === 404) setZone(null);
        setError(err.message);
      });
    return () => {
      gone = true;
    };
  }, [name, reloadKey, version, p.session.token]);

  useEffect(() => {
    if (mine.length === 0) return;
    const first = mine.find((e) => e.event !== 'SerialBumped') ?? mine[0];
    const what = first.payload.name ? `${first.payload.name} ${first.payload.type ?? ''}`.trim() : name;
    setNews(`Live: ${first.actor} ${label(first.event)} ${what} at ${when(first.time)}${mine.length > 2 ? ` (+${mine.length - 2} more)` : ''}`);
  }, [liveKey]);

  const tab = (t: 'records' | 'history' | 'time', text: string) => (
    <a role="tab" href={zoneHref(name, t)} aria-selected={p.tab === t} tabIndex={p.tab === t ? 0 : -1} class={p.tab === t ? 'tab active' : 'tab'}>{text}</a>
  );

  return (
    <section aria-labelledby="zone-title">
      <p class="crumbs"><a href="#/">Zones</a> / {name}</p>
      <div class="titlebar">
        <h1 id="zone-title">{name}</h1>
        {zone && <p class="meta">serial <strong data-testid="serial">{zone.serial}</strong> · {zone.record_count} records · primary {zone.primary_ns}</p>}
      </div>
      <p class="news" role="status" aria-live="polite">{news ?? ''}</p>
      {error && <p class="error" role="alert">{error}</p>}
      <nav class="tabs" role="tablist" aria-label="Zone views" onKeyDown={moveBetweenTabs}>
        {tab('records', 'Records')}
        {tab('history', 'History')}
        {tab('time', 'Time travel')}
      </nav>
      {zone === undefined && !error && <p role="status">Loading the zone…</p>}
      {p.tab === 'records' && zone && records && <Records session={p.session} zone={zone} records={records} onChanged={() => setVersion((v) => v + 1)} />}
      {p.tab === 'history' && <HistoryTab session={p.session} zone={name} liveKey={liveKey} />}
      {p.tab === 'time' && zone !== undefined && <TimeTravel session={p.session} zone={name} current={records ?? []} serial={zone?.serial} liveKey={liveKey} onRestored={() => setVersion((v) => v + 1)} />}
    </section>
  );
}
