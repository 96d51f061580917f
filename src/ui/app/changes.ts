/** A change batch built in the page: what POST /v1/zones/{zone}/changes takes, plus a label to show. */

export type Change =
  | { op: 'create'; name: string; type: string; value: string; ttl?: number }
  | { op: 'update'; id: string; value?: string; ttl?: number }
  | { op: 'delete'; id: string };

export interface Staged {
  change: Change;
  /** What the person sees in the batch list. */
  label: string;
}

/** The field an API error names, without the "changes.N." prefix, and N when there is one. */
export function splitField(field: string | undefined): { index?: number; field?: string } {
  if (!field) return {};
  const m = /^changes\.(\d+)\.(.+)$/.exec(field);
  if (m) return { index: Number(m[1]), field: m[2] };
  return { field };
}
