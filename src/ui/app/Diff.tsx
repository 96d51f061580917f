/** The difference between the zone at a point and the zone now, by record id (ids survive updates and restores). */
import type { DnsRecord } from './types.ts';

export interface DiffRow {
  kind: 'added since' | 'removed since' | 'changed since';
  name: string;
  type: string;
  then?: string;
  now?: string;
}

const show = (r: DnsRecord): string => `${r.value}  (ttl ${r.ttl})`;

export function diffRecords(then: DnsRecord[], now: DnsRecord[]): DiffRow[] {
  const a = new Map(then.map((r) => [r.id, r]));
  const b = new Map(now.map((r) => [r.id, r]));
  const out: DiffRow[] = [];
  for (const [id, r] of a) {
    const n = b.get(id);
    if (!n) out.push({ kind: 'removed since', name: r.name, type: r.type, then: show(r) });
    else if (n.value !== r.value || n.ttl !== r.ttl) out.push({ kind: 'changed since', name: r.name, type: r.type, then: show(r), now: show(n) });
  }
  for (const [id, n] of b) if (!a.has(id)) out.push({ kind: 'added since', name: n.name, type: n.type, now: show(n) });
  return out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : x.type < y.type ? -1 : 1));
}

export function Diff(p: { rows: DiffRow[]; caption: string }) {
  if (p.rows.length === 0) return <p class="hint" role="status">No difference: the zone then and now have the same records.</p>;
  return (
    <table class="grid diff">
      <caption>{p.caption}</caption>
      <thead>
        <tr><th scope="col">Difference</th><th scope="col">Record</th><th scope="col">Then</th><th scope="col">Now</th></tr>
      </thead>
      <tbody>
        {p.rows.map((d, i) => (
          <tr key={i} class={d.kind.replace(/ /g, '-')}>
            <td>{d.kind}</td>
            <td>{d.name} {d.type}</td>
            <td class="old">{d.then ?? ''}</td>
            <td class="new">{d.now ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
