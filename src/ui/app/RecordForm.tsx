/**
 * Add or edit one record. "Save" applies it at once (one change, If-Match the serial the form was
 * opened at); "Add to batch" stages it for the zone's change batch. The API's validation message is
 * shown next to the field it names.
 */
import { useState } from 'preact/hooks';
import { ApiError, withoutField } from './api.ts';
import { splitField, type Change } from './changes.ts';
import { FieldError } from './FieldError.tsx';
import type { DnsRecord } from './types.ts';

const TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SRV', 'CAA', 'PTR', 'DNAME', 'DS', 'SSHFP', 'TLSA', 'HTTPS', 'SVCB', 'NAPTR', 'LOC', 'HINFO', 'URI'];

export function RecordForm(p: { record?: DnsRecord; onSave(c: Change): Promise<void>; onStage(c: Change): void; onCancel(): void }) {
  const r = p.record;
  const [name, setName] = useState(r?.name ?? '');
  const [type, setType] = useState(r?.type ?? 'A');
  const [value, setValue] = useState(r?.value ?? '');
  const [ttl, setTtl] = useState(r ? String(r.ttl) : '');
  const [err, setErr] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const prefix = r ? `edit-${r.id}` : 'add';

  const change = (): Change | undefined => {
    const t = ttl.trim() === '' ? undefined : Number(ttl);
    if (t !== undefined && !Number.isInteger(t)) {
      setErr(new ApiError(400, 'ttl: must be a whole number of seconds', 'ttl'));
      return undefined;
    }
    if (r) return { op: 'update', id: r.id, value: value !== r.value ? value : undefined, ttl: t !== r.ttl ? t : undefined };
    return { op: 'create', name, type, value, ...(t !== undefined ? { ttl: t } : {}) };
  };

  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    const c = change();
    if (!c) return;
    setBusy(true);
    setErr(undefined);
    try {
      await p.onSave(c);
    } catch (x) {
      setErr(x instanceof ApiError ? x : new ApiError(0, String(x)));
    } finally {
      setBusy(false);
    }
  };
  const stage = (): void => {
    const c = change();
    if (c) p.onStage(c);
  };
  const f = (field: string): string | undefined => (err && splitField(err.field).field === field ? withoutField(err.message) : undefined);
  const general = err && !['name', 'type', 'value', 'ttl'].includes(splitField(err.field).field ?? '') ? err.message : undefined;

  return (
    <form class="card record-form" onSubmit={save} aria-label={r ? `Edit ${r.name} ${r.type}` : 'Add a record'}>
      <h2>{r ? `Edit ${r.name} ${r.type}` : 'Add a record'}</h2>
      <div class="row-form">
        <div>
          <label for={`${prefix}-name`}>Name</label>
          <input id={`${prefix}-name`} value={name} disabled={!!r} required placeholder="@ or www" aria-invalid={!!f('name')} aria-describedby={`${prefix}-name-err`} onInput={(e) => setName(e.currentTarget.value)} />
          <FieldError id={`${prefix}-name-err`} message={f('name')} />
        </div>
        <div>
          <label for={`${prefix}-type`}>Type</label>
          <select id={`${prefix}-type`} value={type} disabled={!!r} aria-describedby={`${prefix}-type-err`} onChange={(e) => setType(e.currentTarget.value)}>
            {(TYPES.includes(type) ? TYPES : [type, ...TYPES]).map((t) => <option key={t}>{t}</option>)}
          </select>
          <FieldError id={`${prefix}-type-err`} message={f('type')} />
        </div>
        <div class="grow">
          <label for={`${prefix}-value`}>Value</label>
          <input id={`${prefix}-value`} value={value} required aria-invalid={!!f('value')} aria-describedby={`${prefix}-value-err`} onInput={(e) => setValue(e.currentTarget.value)} />
          <FieldError id={`${prefix}-value-err`} message={f('value')} />
        </div>
        <div>
          <label for={`${prefix}-ttl`}>TTL</label>
          <input id={`${prefix}-ttl`} inputMode="numeric" value={ttl} placeholder="zone default" aria-invalid={!!f('ttl')} aria-describedby={`${prefix}-ttl-err`} onInput={(e) => setTtl(e.currentTarget.value)} />
          <FieldError id={`${prefix}-ttl-err`} message={f('ttl')} />
        </div>
      </div>
      {general && <p class="error" role="alert">{general}</p>}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>Save</button>
        <button type="button" onClick={stage}>Add to batch</button>
        <button type="button" onClick={p.onCancel}>Cancel</button>
      </div>
    </form>
  );
}
