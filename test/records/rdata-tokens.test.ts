/**
 * The zone-file reader hands the lexer's tokens of a value straight to the records module when no
 * token holds a quote or a backslash (parseRDataTokens), instead of writing them back as text for
 * parseRData to split again. Both must give the same rdata, or the same error, for every type.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lex, tokensText } from '../../src/zonefile/lexer.ts';
import { parseRData, parseRDataTokens } from '../../src/records/rdata.ts';
import type { RRType } from '../../src/records/types.ts';
import { EVERY_TYPE } from './every-type.ts';

function outcome(fn: () => unknown): unknown {
  try {
    return { ok: fn() };
  } catch (err) {
    return { error: `${(err as Error).name}: ${(err as Error).message}` };
  }
}

test('parseRDataTokens equals parseRData of the tokens written back, for every type and for broken values', () => {
  const values: [RRType, string][] = EVERY_TYPE.map(([, type, input]) => [type, input]);
  values.push(
    ['TXT', '"v=bench1 id=10"'], ['TXT', '""'], ['TXT', 'plain words  and\ttabs'], ['MX', '10 mail'], ['MX', '10'], ['MX', 'x mail'], ['A', ''], ['A', '10.0.0.256'],
    ['AAAA', '2001:db8::0:3'], ['CNAME', 'h40588'], ['CNAME', '@'], ['NS', 'a b'], ['SRV', '1 2 3'], ['CAA', '0 issue ( x )'], ['TYPE65400', '\\# 2 00'], ['A', '\\# 4 0a000001'],
    ['SOA', 'ns1 hostmaster 1 2 3 4 5'], ['SOA', 'ns1 hostmaster 1 2 3 4'], ['HTTPS', '1 . alpn=h2 port=443'], ['SSHFP', '1 1 abcd'], ['TLSA', '3 1 1 zz'],
  );
  let compared = 0;
  for (const [type, input] of values) {
    const entries = lex(`x ${type} ${input}\n`);
    if (entries.length !== 1 || entries[0].errors) continue;
    const toks = entries[0].tokens.slice(2);
    // The reader's condition: a token holding a quote (alpn="h2,h3") or a backslash is written back as text.
    if (toks.some((t) => t.raw.includes('"') || t.raw.includes('\\'))) continue;
    for (const origin of [undefined, 'example.org.']) {
      const viaText = outcome(() => parseRData(type, tokensText(toks), origin));
      const viaTokens = outcome(() => parseRDataTokens(type, toks.map((t) => ({ ...t })), origin));
      assert.deepEqual(viaTokens, viaText, `${type} ${input} (origin ${origin})`);
      compared++;
    }
  }
  assert.ok(compared > 80, `${compared} values compared`);
});
