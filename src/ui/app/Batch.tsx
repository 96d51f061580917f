/**
 * The change batch built in the page: applied in one request (POST .../changes, all or nothing) with
 * If-Match the serial the batch was started at, so a zone that moved meanwhile answers 412 and the
 * page says "the zone changed, reload" instead of overwriting.
 */
import { withoutField, type ApiError } from './api.ts';
import { splitField, type Staged } from './changes.ts';

export function Batch(p: { staged: Staged[]; baseSerial?: number; error?: ApiError; busy: boolean; onApply(): void; onDiscard(): void; onRemove(i: number): void; onReload(): void }) {
  if (p.staged.length === 0 && !p.error) return null;
  const where = splitField(p.error?.field);
  return (
    <section class="card batch" aria-labelledby="batch-title">
      <h2 id="batch-title">Change batch ({p.staged.length}) <span class="hint">started at serial {p.baseSerial}</span></h2>
      <ol>
        {p.staged.map((s, i) => (
          <li key={i}>
            <span>{s.label}</span>
            <button type="button" class="link" onClick={() => p.onRemove(i)} aria-label={`Remove change ${i + 1} from the batch`}>remove</button>
            {where.index === i && p.error && <span class="field-error" role="alert">{where.field}: {withoutField(p.error.message)}</span>}
          </li>
        ))}
      </ol>
      {p.error && where.index === undefined && (
        <p class="error" role="alert">
          {p.error.status === 412 ? 'The zone changed since this batch was started: reload, check, and apply again.' : p.error.message}
          {p.error.status === 412 && <> <button type="button" onClick={p.onReload}>Reload</button></>}
        </p>
      )}
      <div class="actions">
        <button type="button" class="primary" disabled={p.busy || p.staged.length === 0} onClick={p.onApply}>Apply batch</button>
        <button type="button" onClick={p.onDiscard}>Discard batch</button>
      </div>
    </section>
  );
}
