/**
 * The zones page: every zone with serial, record count and last change (who, when), paged; zone
 * names are links. The last change is read per visible row from the zone's history (newest entry),
 * so a thousand zones cost one list request and a page of small ones. Admins can create a zone.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, z } from './api.ts';
import { when } from './format.ts';
import { Pager } from './Pager.tsx';
import { zoneHref } from './route.ts';
import { ZoneCreate } from './ZoneCreate.tsx';
import type { HistoryEntry, LiveChange, Session, Zone } from './types.ts';

const PAGE = 50;

export function Zones(p: { session: Session; live?: LiveChange }) {
  const [zones, setZones] = useState<Zone[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [filter, setFilter] = useState('');
  const [page, setPage] = useState(0);
  const [last, setLast] = useState<Record<string, HistoryEntry | null>>({});
  const [reload, setReload] = useState(0);

  useEffect(() => {
    api<{ zones: Zone[] }>(p.session.token, 'GET', '/v1/zones')
      .then((r) => setZones(r.zones))
      .catch((err) => setError(err.message));
  }, [p.session.token, p.live?.seq, reload]);

  const shown = useMemo(() => (zones ?? []).filter((x) => x.name.includes(filter.toLowerCase())), [zones, filter]);
  const rows = shown.slice(page * PAGE, page * PAGE + PAGE);
  const touched = new Set((p.live?.events ?? []).map((e) => e.zone));

  useEffect(() => {
    const want = rows.filter((r) => !(r.name in last) || touched.has(r.name));
    if (want.length === 0) return;
    let gone = false;
    Promise.all(
      want.map((r) =>
        api<{ entries: HistoryEntry[] }>(p.session.token, 'GET', `/v1/zones/${z(r.name)}/history?order=desc&limit=1`)
          .then((h) => [r.name, h.entries[0] ?? null] as const)
          .catch(() => [r.name, null] as const),
      ),
    ).then((pairs) => {
      if (!gone) setLast((old) => ({ ...old, ...Object.fromEntries(pairs) }));
    });
    return () => {
      gone = true;
    };
  }, [rows.map((r) => `${r.name}@${r.serial}`).join(',')]);

  return (
    <section aria-labelledby="zones-title">
      <div class="titlebar">
        <h1 id="zones-title">Zones</h1>
        <label class="inline">
          Filter zones <input type="search" value={filter} onInput={(e) => { setFilter(e.currentTarget.value); setPage(0); }} />
        </label>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {p.session.me.may.zone_admin && <ZoneCreate token={p.session.token} onCreated={() => setReload((n) => n + 1)} />}
      {!zones ? (
        <p role="status">Loading…</p>
      ) : (
        <>
          <table class="grid">
            <caption class="sr-only">Zones</caption>
            <thead>
              <tr><th scope="col">Zone</th><th scope="col" class="num">Serial</th><th scope="col" class="num">Records</th><th scope="col">Last change</th></tr>
            </thead>
            <tbody>
              {rows.map((x) => {
                const l = last[x.name];
                return (
                  <tr key={x.name}>
                    <td><a href={zoneHref(x.name)}>{x.name}</a></td>
                    <td class="num">{x.serial}</td>
                    <td class="num">{x.record_count}</td>
                    <td>{l ? <><span class="actor">{l.actor}</span> <time dateTime={l.time} title={l.time}>{when(l.time)}</time></> : l === null ? '—' : '…'}</td>
                  </tr>
                );
              })}
              {rows.length === 0 && <tr><td colSpan={4}>No zones{filter ? ' match the filter' : ''}.</td></tr>}
            </tbody>
          </table>
          <Pager page={page} pages={Math.ceil(shown.length / PAGE)} total={shown.length} onPage={setPage} noun="zones" />
        </>
      )}
    </section>
  );
}
