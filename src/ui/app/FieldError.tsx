/** A validation message next to its field, announced when it appears. */
export function FieldError(p: { id: string; message?: string }) {
  return <span id={p.id} class="field-error" role={p.message ? 'alert' : undefined}>{p.message ?? ''}</span>;
}
