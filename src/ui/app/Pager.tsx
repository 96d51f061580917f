/** Previous / next page buttons with the position announced. */
export function Pager(p: { page: number; pages: number; total: number; noun: string; onPage(n: number): void }) {
  if (p.pages <= 1) return <p class="pager" role="status">{p.total} {p.noun}</p>;
  return (
    <nav class="pager" aria-label={`${p.noun} pages`}>
      <button type="button" disabled={p.page === 0} onClick={() => p.onPage(p.page - 1)}>Previous page</button>
      <span role="status">Page {p.page + 1} of {p.pages} ({p.total} {p.noun})</span>
      <button type="button" disabled={p.page >= p.pages - 1} onClick={() => p.onPage(p.page + 1)}>Next page</button>
    </nav>
  );
}
