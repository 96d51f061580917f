/** The zone trie: structural sharing, pruning, and the lookups DNS answering needs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addRecord, emptyNode, findNode, lookup, removeRecord, type RecordState } from '../../src/projections/trie.ts';

const rec = (id: string, name: string, type: RecordState['type'], value: string): RecordState => ({ id, name, type, ttl: 60, value });
const L = (rel: string): string[] => (rel === '' ? [] : rel.split('.').reverse());

function zone() {
  let t = emptyNode('example.com.');
  t = addRecord(t, L('www'), rec('1', 'www.example.com.', 'A', '192.0.2.1'));
  t = addRecord(t, L('a.b.c'), rec('2', 'a.b.c.example.com.', 'A', '192.0.2.2'));
  t = addRecord(t, L('*.w'), rec('3', '*.w.example.com.', 'TXT', '"wild"'));
  t = addRecord(t, L('sub'), rec('4', 'sub.example.com.', 'NS', 'ns.sub.example.com.'));
  t = addRecord(t, L('ns.sub'), rec('5', 'ns.sub.example.com.', 'A', '192.0.2.53'));
  return t;
}

test('a write copies only its path; the old version is unchanged', () => {
  const t1 = zone();
  const t2 = addRecord(t1, L('x.y'), rec('9', 'x.y.example.com.', 'A', '192.0.2.9'));
  assert.equal(findNode(t1, L('x.y')), undefined);
  assert.ok(findNode(t2, L('x.y')));
  assert.equal(t2.children.get('www'), t1.children.get('www'), 'untouched subtree is shared');
  assert.equal(t2.children.get('c'), t1.children.get('c'));
});

test('removing the last record prunes empty nodes up to the apex', () => {
  const t = removeRecord(zone(), L('a.b.c'), 'A', '2');
  assert.equal(findNode(t, L('c')), undefined);
  assert.ok(findNode(t, L('www')));
});

const cases: Array<{ name: string; q: string; exact: boolean; encloser: string; cut?: string; wildcard?: string; ent?: boolean }> = [
  { name: 'exact node', q: 'www', exact: true, encloser: 'www.example.com.' },
  { name: 'apex', q: '', exact: true, encloser: 'example.com.' },
  { name: 'empty non-terminal', q: 'b.c', exact: true, encloser: 'b.c.example.com.', ent: true },
  { name: 'missing below an ENT (no wildcard)', q: 'z.b.c', exact: false, encloser: 'b.c.example.com.' },
  { name: 'wildcard under closest encloser', q: 'foo.w', exact: false, encloser: 'w.example.com.', wildcard: '*.w.example.com.' },
  { name: 'delegation at the cut', q: 'sub', exact: true, encloser: 'sub.example.com.', cut: 'sub.example.com.' },
  { name: 'below a delegation', q: 'deep.er.sub', exact: false, encloser: 'sub.example.com.', cut: 'sub.example.com.' },
  { name: 'glue is behind the cut', q: 'ns.sub', exact: false, encloser: 'sub.example.com.', cut: 'sub.example.com.' },
  { name: 'nothing at all', q: 'nope', exact: false, encloser: 'example.com.' },
];

for (const c of cases) {
  test(`lookup: ${c.name}`, () => {
    const r = lookup(zone(), L(c.q));
    assert.equal(!!r.exact, c.exact);
    assert.equal(r.encloser.name, c.encloser);
    assert.equal(r.cut?.name, c.cut);
    assert.equal(r.wildcard?.name, c.wildcard);
    if (c.ent) assert.equal(r.exact!.rrsets.size, 0);
  });
}
