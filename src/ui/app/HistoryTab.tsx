/**
 * The zone's history: newest first, paged by cursor ("Older entries"), filtered by name, type, actor
 * and time; each row says who (the actor exactly as recorded), when, through which surface, and the
 * old and new values side by side.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, z } from './api.ts';
import { label, localToRfc3339, side, subject, when } from './format.ts';
import type { HistoryEntry, Session } from './types.ts';

const PAGE = 50;

/** What each surface means (see src/projections/history.ts). */
const SURFACE_HELP: Record<string, string> = {
  rest: 'the REST API (this console, curl, mcns --addr)',
  grpc: 'the gRPC API',
  update: 'DNS UPDATE (RFC 2136), signed with the TSIG key named as the actor',
  cli: 'the offline CLI on the database file (mcns ... --db)',
  system: 'MCNS itself (the --dev seed)',
  api: 'REST, gRPC or DNS UPDATE, written before MCNS recorded which (a TSIG key name as actor means UPDATE)',
  import: 'a zone file imported through the API',
  offline: 'a zone file imported offline (mcns zone import --db) or the dev seed',
  restore: 'a restore to an earlier point',
};

interface Filters {
  name: string;
  type: string;
  actor: string;
  since: string;
  until: string;
}
const NONE: Filters = { name: '', type: '', actor: '', since: '', until: '' };

export function HistoryTab(p: { session: Session; zone: string; liveKey?: number }) {
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  const [entries, setEntries] = useState<HistoryEntry[] | undefined>();
  const [cursor, setCursor] = useState<number | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [bumps, setBumps] = useState(false);

  const query = (after?: number): string => {
    const q = new URLSearchParams({ order: 'desc', limit: String(PAGE) });
    if (filters.name) q.set('name', filters.name);
    if (filters.type) q.set('type', filters.type);
    if (filters.actor) q.set('actor', filters.actor);
    const since = filters.since && localToRfc3339(filters.since);
    const until = filters.until && localToRfc3339(filters.until);
    if (since) q.set('since', since);
    if (until) q.set('until', until);
    if (after !== undefined) q.set('cursor', String(after));
    return `/v1/zones/${z(p.zone)}/history?${q}`;
  };
  const load = async (after?: number): Promise<void> => {
    try {
      const r = await api<{ entries: HistoryEntry[]; next_cursor?: number }>(p.session.token, 'GET', query(after));
      setEntries((old) => (after === undefined ? r.entries : [...(old ?? []), ...r.entries]));
      setCursor(r.next_cursor);
      setError(undefined);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  useEffect(() => {
    void load();
  }, [p.zone, filters, p.liveKey]);

  const set = (k: keyof Filters) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });
  const shown = (entries ?? []).filter((e) => bumps || e.event !== 'SerialBumped');

  return (
    <div role="tabpanel" aria-label="History">
      <form class="toolbar filters" onSubmit={(e) => { e.preventDefault(); setFilters(draft); }}>
        <label class="inline">Name <input value={draft.name} onInput={set('name')} placeholder="www" /></label>
        <label class="inline">Type <input value={draft.type} onInput={set('type')} size={6} placeholder="A" /></label>
        <label class="inline">Actor <input value={draft.actor} onInput={set('actor')} placeholder="alice" /></label>
        <label class="inline">Since <input type="datetime-local" step="1" value={draft.since} onInput={set('since')} /></label>
        <label class="inline">Until <input type="datetime-local" step="1" value={draft.until} onInput={set('until')} /></label>
        <button type="submit">Apply filters</button>
        <button type="button" onClick={() => { setDraft(NONE); setFilters(NONE); }}>Clear</button>
        <label class="inline"><input type="checkbox" checked={bumps} onChange={(e) => setBumps(e.currentTarget.checked)} /> Show serial bumps</label>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      <table class="grid history">
        <caption class="sr-only">History of {p.zone}, newest first</caption>
        <thead>
          <tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Surface</th><th scope="col">Change</th><th scope="col">Record</th><th scope="col">Old</th><th scope="col">New</th></tr>
        </thead>
        <tbody>
          {shown.map((e) => (
            <tr key={e.seq} data-seq={e.seq} class={`ev-${e.event}`}>
              <td><time dateTime={e.time} title={`${e.time} (seq ${e.seq}, batch ${e.batch_id})`}>{when(e.time)}</time></td>
              <td class="actor">{e.actor}</td>
              <td title={SURFACE_HELP[e.surface ?? ''] ?? ''}>{e.surface ?? ''}{e.restored_to ? <span class="hint"> to seq {e.restored_to.seq}</span> : null}</td>
              <td>{label(e.event)}{e.event === 'SerialBumped' ? ` ${e.payload.serial}` : ''}</td>
              <td>{subject(e)}</td>
              <td class="old">{side(e.old)}</td>
              <td class="new">{side(e.new)}</td>
            </tr>
          ))}
          {entries && shown.length === 0 && <tr><td colSpan={7}>No entries{filters !== NONE ? ' match the filters' : ''}.</td></tr>}
        </tbody>
      </table>
      {!entries && <p role="status">Loading…</p>}
      {cursor !== undefined && <button type="button" onClick={() => load(cursor)}>Older entries</button>}
    </div>
  );
}
