/**
 * Time travel: pick a point (a slider over the zone's change batches, or a date and time), see the
 * zone as it was then and its difference from now, export it as a zone file, and (admin) restore the
 * zone to it after a confirmation that shows what the restore will change. History is kept: a
 * restore is one more batch.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, z } from './api.ts';
import { Diff, diffRecords } from './Diff.tsx';
import { label, localToRfc3339, subject, when } from './format.ts';
import type { DnsRecord, HistoryEntry, Session } from './types.ts';

interface Point {
  seq: number;
  time: string;
  actor: string;
  what: string;
}

/** One point per batch (its last seq), oldest first. */
function pointsOf(entries: HistoryEntry[]): Point[] {
  const byBatch = new Map<string, Point>();
  for (const e of [...entries].sort((a, b) => a.seq - b.seq)) {
    const p = byBatch.get(e.batch_id);
    const what = e.event === 'SerialBumped' ? '' : `${label(e.event)} ${subject(e)}`.trim();
    if (!p) byBatch.set(e.batch_id, { seq: e.seq, time: e.time, actor: e.actor, what });
    else byBatch.set(e.batch_id, { ...p, seq: e.seq, what: p.what || what });
  }
  return [...byBatch.values()].sort((a, b) => a.seq - b.seq);
}

/** Most batches the slider offers (the newest); older points are reached by date and time. */
const MAX_POINTS = 1000;

/**
 * The newest entries of each of the zone's newest batches, newest first. A batch id starts with its
 * first seq, so when a page ends inside a batch the next page starts before that batch: a 100,000-
 * record import costs one request, not five hundred.
 */
async function loadBatches(token: string, zone: string): Promise<HistoryEntry[]> {
  const out: HistoryEntry[] = [];
  const batches = new Set<string>();
  let cursor: number | undefined;
  for (let i = 0; i < 50 && batches.size < MAX_POINTS; i++) {
    const r = await api<{ entries: HistoryEntry[]; next_cursor?: number }>(token, 'GET', `/v1/zones/${z(zone)}/history?order=desc&limit=200${cursor !== undefined ? `&cursor=${cursor}` : ''}`);
    for (const e of r.entries) {
      batches.add(e.batch_id);
      out.push(e);
    }
    if (r.next_cursor === undefined || r.entries.length === 0) break;
    const first = /^(\d+)-/.exec(r.entries[r.entries.length - 1].batch_id);
    cursor = first ? Math.min(r.next_cursor, Number(first[1])) : r.next_cursor;
  }
  return out;
}

export function TimeTravel(p: { session: Session; zone: string; current: DnsRecord[]; serial?: number; liveKey?: number; onRestored(): void }) {
  const [points, setPoints] = useState<Point[] | undefined>();
  const [index, setIndex] = useState<number | undefined>();
  const [at, setAt] = useState<string | undefined>();
  const [local, setLocal] = useState('');
  const [then, setThen] = useState<DnsRecord[] | null | undefined>();
  const [zoneFile, setZoneFile] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const dialog = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    loadBatches(p.session.token, p.zone)
      .then((entries) => {
        const ps = pointsOf(entries);
        setPoints(ps);
        if (index === undefined && ps.length > 0) {
          const i = Math.max(0, ps.length - 2);
          setIndex(i);
          setAt(String(ps[i].seq));
        }
      })
      .catch((err) => setError(err.message));
  }, [p.zone, p.liveKey]);

  useEffect(() => {
    if (at === undefined) return;
    setZoneFile(undefined);
    api<{ records: DnsRecord[] }>(p.session.token, 'GET', `/v1/zones/${z(p.zone)}/records?at=${encodeURIComponent(at)}`)
      .then((r) => {
        setThen(r.records);
        setError(undefined);
      })
      .catch((err) => {
        if (err.status === 404) setThen(null);
        else setError(err.message);
      });
  }, [at, p.zone]);

  const rows = useMemo(() => diffRecords(then ?? [], p.current), [then, p.current]);
  const point = points && index !== undefined ? points[index] : undefined;

  const exportFile = async (): Promise<void> => {
    if (at === undefined) return;
    try {
      const text = await api<string>(p.session.token, 'GET', `/v1/zones/${z(p.zone)}/export?at=${encodeURIComponent(at)}`, { text: true });
      setZoneFile(text);
      const url = URL.createObjectURL(new Blob([text], { type: 'text/dns' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `${p.zone}-at-${at.replace(/[^0-9A-Za-z]/g, '')}.zone`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const restore = async (): Promise<void> => {
    dialog.current?.close();
    if (at === undefined) return;
    try {
      const r = await api<{ restored_to_seq: number; batch: { serial?: number } }>(p.session.token, 'POST', `/v1/zones/${z(p.zone)}/restore`, { body: { at: /^\d+$/.test(at) ? Number(at) : at }, ifMatch: p.serial });
      setDone(`Restored to seq ${r.restored_to_seq}${r.batch.serial !== undefined ? `; the zone's serial is now ${r.batch.serial}` : ' (nothing to change)'}.`);
      p.onRestored();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <div role="tabpanel" aria-label="Time travel">
      {points && points.length > 0 && (
        <div class="card picker">
          <label for="tt-slider">Point in history</label>
          <input
            id="tt-slider"
            type="range"
            min={0}
            max={points.length - 1}
            value={index ?? points.length - 1}
            aria-valuetext={point ? `seq ${point.seq}, ${when(point.time)}, ${point.actor}` : undefined}
            onInput={(e) => {
              const i = Number(e.currentTarget.value);
              setIndex(i);
              setAt(String(points[i].seq));
              setDone(undefined);
            }}
          />
          {point && at === String(point.seq) && (
            <p class="point" data-seq={point.seq}>
              seq {point.seq} · <time dateTime={point.time}>{when(point.time)}</time> · {point.actor} · {point.what} <span class="hint">({(index ?? 0) + 1} of {points.length})</span>
            </p>
          )}
          <form class="toolbar" onSubmit={(e) => { e.preventDefault(); const t = localToRfc3339(local); if (t) { setAt(t); setIndex(undefined); setDone(undefined); } }}>
            <label class="inline">Or a date and time <input type="datetime-local" step="1" value={local} onInput={(e) => setLocal(e.currentTarget.value)} /></label>
            <button type="submit">Show the zone then</button>
          </form>
        </div>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      {done && <p class="ok" role="status">{done}</p>}
      {at !== undefined && then === null && <p class="hint" role="status">The zone did not exist at that point.</p>}
      {at !== undefined && then && (
        <>
          <h2>The zone at {point && at === String(point.seq) ? `seq ${point.seq}` : at}: {then.length} records</h2>
          <div class="actions">
            <button type="button" onClick={exportFile}>Export zone file</button>
            {p.session.me.may.zone_admin && <button type="button" class="danger" onClick={() => dialog.current?.showModal()}>Restore to this point…</button>}
          </div>
          <Diff rows={rows} caption="Then and now" />
          {zoneFile && (
            <details open>
              <summary>Zone file at this point</summary>
              <pre class="zonefile">{zoneFile}</pre>
            </details>
          )}
          <dialog ref={dialog} aria-labelledby="restore-title">
            <h2 id="restore-title">Restore {p.zone} to {point && at === String(point.seq) ? `seq ${point.seq} (${when(point.time)})` : at}?</h2>
            <p>The restore appends one batch that makes the zone equal to the "Then" column below; the history stays, and this restore can itself be undone.</p>
            <Diff rows={rows} caption="What the restore changes (now → then)" />
            <div class="actions">
              <button type="button" class="danger" onClick={restore}>Restore</button>
              <button type="button" onClick={() => dialog.current?.close()}>Cancel</button>
            </div>
          </dialog>
        </>
      )}
    </div>
  );
}
