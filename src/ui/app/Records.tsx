/**
 * A zone's records: filter by name and type, sort by any column, paged (100 rows a page, so a
 * 100,000-record zone renders as fast as a small one); add, edit, delete and a change batch for
 * sessions that may write (a `user` sees no write control; the server enforces it regardless).
 */
import { useMemo, useState } from 'preact/hooks';
import { api, ApiError, z } from './api.ts';
import { Batch } from './Batch.tsx';
import type { Change, Staged } from './changes.ts';
import { Pager } from './Pager.tsx';
import { RecordForm } from './RecordForm.tsx';
import { mayWrite, type DnsRecord, type Session, type Zone } from './types.ts';

const PAGE = 100;
type SortKey = 'name' | 'type' | 'value' | 'ttl';

function describe(c: Change, byId: Map<string, DnsRecord>): string {
  if (c.op === 'create') return `add ${c.name} ${c.type} ${c.value}${c.ttl !== undefined ? ` ttl ${c.ttl}` : ''}`;
  const r = byId.get(c.id);
  const what = r ? `${r.name} ${r.type}` : c.id;
  if (c.op === 'delete') return `delete ${what} ${r?.value ?? ''}`;
  return `change ${what}: ${c.value !== undefined ? `${r?.value ?? '?'} → ${c.value}` : ''}${c.ttl !== undefined ? ` ttl ${r?.ttl ?? '?'} → ${c.ttl}` : ''}`;
}

export function Records(p: { session: Session; zone: Zone; records: DnsRecord[]; onChanged(): void }) {
  const [name, setName] = useState('');
  const [type, setType] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false });
  const [page, setPage] = useState(0);
  const [editing, setEditing] = useState<string | undefined>();
  const [staged, setStaged] = useState<Staged[]>([]);
  const [baseSerial, setBaseSerial] = useState<number | undefined>();
  const [batchError, setBatchError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const [openedAt, setOpenedAt] = useState(p.zone.serial);
  const canAdd = p.session.me.may.records !== 'none';

  const byId = useMemo(() => new Map(p.records.map((r) => [r.id, r])), [p.records]);
  const types = useMemo(() => [...new Set(p.records.map((r) => r.type))].sort(), [p.records]);
  const shown = useMemo(() => {
    const needle = name.trim().toLowerCase();
    const out = p.records.filter((r) => (!needle || r.name.toLowerCase().includes(needle) || r.fqdn.includes(needle)) && (!type || r.type === type));
    const k = sort.key;
    out.sort((a, b) => {
      const c = k === 'ttl' ? a.ttl - b.ttl : a[k] < b[k] ? -1 : a[k] > b[k] ? 1 : 0;
      return sort.desc ? -c : c;
    });
    return out;
  }, [p.records, name, type, sort]);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  const at = Math.min(page, pages - 1);
  const rows = shown.slice(at * PAGE, at * PAGE + PAGE);

  const open = (id: string | undefined): void => {
    setEditing(id);
    setOpenedAt(p.zone.serial);
  };
  const applyOne = async (c: Change): Promise<void> => {
    await api(p.session.token, 'POST', `/v1/zones/${z(p.zone.name)}/changes`, { body: [c], ifMatch: openedAt });
    setEditing(undefined);
    p.onChanged();
  };
  const stage = (c: Change): void => {
    if (staged.length === 0) setBaseSerial(p.zone.serial);
    setStaged((s) => [...s, { change: c, label: describe(c, byId) }]);
    setBatchError(undefined);
    setEditing(undefined);
  };
  const applyBatch = async (): Promise<void> => {
    setBusy(true);
    setBatchError(undefined);
    try {
      await api(p.session.token, 'POST', `/v1/zones/${z(p.zone.name)}/changes`, { body: staged.map((s) => s.change), ifMatch: baseSerial });
      setStaged([]);
      setBaseSerial(undefined);
      p.onChanged();
    } catch (x) {
      setBatchError(x instanceof ApiError ? x : new ApiError(0, String(x)));
    } finally {
      setBusy(false);
    }
  };
  const th = (key: SortKey, text: string) => (
    <th scope="col" aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'} class={key === 'ttl' ? 'num' : undefined}>
      <button type="button" class="sort" onClick={() => setSort((s) => ({ key, desc: s.key === key ? !s.desc : false }))}>
        {text} {sort.key === key ? (sort.desc ? '▼' : '▲') : ''}
      </button>
    </th>
  );

  return (
    <div role="tabpanel" aria-label="Records">
      <div class="toolbar">
        <label class="inline">Filter by name <input type="search" value={name} onInput={(e) => { setName(e.currentTarget.value); setPage(0); }} /></label>
        <label class="inline">
          Type
          <select value={type} onChange={(e) => { setType(e.currentTarget.value); setPage(0); }}>
            <option value="">any</option>
            {types.map((t) => <option key={t}>{t}</option>)}
          </select>
        </label>
        {canAdd && editing !== 'new' && <button type="button" class="primary" onClick={() => open('new')}>Add record</button>}
      </div>
      {editing === 'new' && <RecordForm onSave={applyOne} onStage={stage} onCancel={() => setEditing(undefined)} />}
      <Batch
        staged={staged}
        baseSerial={baseSerial}
        error={batchError}
        busy={busy}
        onApply={applyBatch}
        onDiscard={() => { setStaged([]); setBatchError(undefined); setBaseSerial(undefined); }}
        onRemove={(i) => setStaged((s) => s.filter((_x, j) => j !== i))}
        onReload={() => { setBaseSerial(p.zone.serial); setBatchError(undefined); p.onChanged(); }}
      />
      <table class="grid records">
        <caption class="sr-only">Records of {p.zone.name}</caption>
        <thead>
          <tr>{th('name', 'Name')}{th('type', 'Type')}{th('value', 'Value')}{th('ttl', 'TTL')}{canAdd && <th scope="col">Actions</th>}</tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const writable = canAdd && mayWrite(p.session, r.name) && r.type !== 'SOA';
            if (editing === r.id) {
              return (
                <tr key={r.id}>
                  <td colSpan={5}><RecordForm record={r} onSave={applyOne} onStage={stage} onCancel={() => setEditing(undefined)} /></td>
                </tr>
              );
            }
            return (
              <tr key={r.id} data-record={`${r.name} ${r.type}`}>
                <td>{r.name}</td>
                <td>{r.type}</td>
                <td class="value">{r.value}</td>
                <td class="num">{r.ttl}</td>
                {canAdd && (
                  <td class="row-actions">
                    {writable && (
                      <>
                        <button type="button" onClick={() => open(r.id)} aria-label={`Edit ${r.name} ${r.type} ${r.value}`}>Edit</button>
                        <button type="button" onClick={() => stage({ op: 'delete', id: r.id })} aria-label={`Delete ${r.name} ${r.type} ${r.value}`}>Delete</button>
                      </>
                    )}
                  </td>
                )}
              </tr>
            );
          })}
          {rows.length === 0 && <tr><td colSpan={5}>No records{name || type ? ' match the filter' : ''}.</td></tr>}
        </tbody>
      </table>
      <Pager page={at} pages={pages} total={shown.length} onPage={setPage} noun="records" />
    </div>
  );
}
