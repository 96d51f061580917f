import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { readQuery, type ParsedQuery, type QueryReadResult } from '../../src/dns/query.ts';
import { encodeMessage } from '../../src/dns/wire.ts';

function asQuery(r: QueryReadResult): ParsedQuery {
  assert.equal(r.kind, 'query', r.kind === 'query' ? '' : r.reason);
  return r as ParsedQuery;
}

function header(id: number, flags: number, qd: number, an: number, ns: number, ar: number): number[] {
  return [id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, qd, 0, an, 0, ns, 0, ar];
}

const WWW = [3, 0x77, 0x77, 0x77, 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0];
const A_IN = [0, 1, 0, 1];

test('plain query encoded by dns-packet', () => {
  const buf = dnsPacket.encode({
    type: 'query',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name: 'WwW.Example.com' }],
  });
  const q = asQuery(readQuery(buf));
  assert.equal(q.id, 4242);
  assert.equal(q.opcode, 0);
  assert.equal(q.rd, true);
  assert.equal(q.cd, false);
  assert.equal(q.flags, 0x0100);
  assert.equal(q.qname, 'WwW.Example.com.');
  assert.equal(q.qnameKey, 'www.example.com.');
  assert.equal(q.qtype, 1);
  assert.equal(q.qclass, 1);
  assert.equal(q.questionEnd, 12 + 17 + 4);
  assert.equal(q.questionEnd, buf.length);
  assert.equal(q.edns, undefined);
  assert.equal(q.hasTsig, false);
  assert.equal(q.tsigOffset, undefined);
  assert.deepEqual([q.qdcount, q.ancount, q.nscount, q.arcount], [1, 0, 0, 0]);
});

test('query with EDNS, DO bit and options; CD bit; other types', () => {
  const buf = dnsPacket.encode({
    type: 'query',
    id: 7,
    flags: dnsPacket.CHECKING_DISABLED,
    questions: [{ type: 'AAAA', name: 'example.org' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        flags: dnsPacket.DNSSEC_OK,
        options: [{ code: 10, data: Buffer.from('0102030405060708', 'hex') }],
      } as any,
    ],
  });
  const q = asQuery(readQuery(buf));
  assert.equal(q.cd, true);
  assert.equal(q.rd, false);
  assert.equal(q.qtype, 28);
  assert.equal(q.qnameKey, 'example.org.');
  assert.ok(q.edns);
  assert.equal(q.edns.udpPayloadSize, 1232);
  assert.equal(q.edns.version, 0);
  assert.equal(q.edns.do, true);
  assert.equal(q.edns.flags, 0x8000);
  assert.deepEqual([...q.edns.options], [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(q.arcount, 1);

  const noDo = dnsPacket.encode({
    type: 'query',
    id: 8,
    questions: [{ type: 'TXT', name: 'example.org' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, ednsVersion: 1 } as any],
  });
  const q2 = asQuery(readQuery(noDo));
  assert.equal(q2.edns?.do, false);
  assert.equal(q2.edns?.version, 1);
  assert.equal(q2.edns?.options.length, 0);
});

test('root name, escapes in qname, case-preserved key', () => {
  const root = asQuery(readQuery(new Uint8Array([...header(1, 0, 1, 0, 0, 0), 0, 0, 2, 0, 1])));
  assert.equal(root.qname, '.');
  assert.equal(root.qnameKey, '.');
  assert.equal(root.qtype, 2);

  const labels = [5, 0x41, 0x2e, 0x5c, 0x00, 0x20, 2, 0xff, 0x7f, 1, 0x5a, 0];
  const q = asQuery(readQuery(new Uint8Array([...header(1, 0, 1, 0, 0, 0), ...labels, ...A_IN])));
  assert.equal(q.qname, 'A\\.\\\\\\000\\032.\\255\\127.Z.');
  assert.equal(q.qnameKey, 'a\\.\\\\\\000\\032.\\255\\127.z.');

  // The presentation form survives an encodeMessage round trip (query flags, not a response).
  const { bytes } = encodeMessage({ id: 9, flags: 0, question: [{ name: q.qname, type: 1, class: 1 }], answer: [], authority: [], additional: [] });
  assert.equal(asQuery(readQuery(bytes)).qname, q.qname);
  assert.deepEqual([...bytes.subarray(12, 12 + labels.length)], labels);
});

test('compression pointer in the question name is followed', () => {
  // "www" then a pointer to offset 4, where qdcount's high byte (0) acts as the root label.
  const buf = new Uint8Array([...header(3, 0, 1, 0, 0, 0), 3, 0x77, 0x77, 0x77, 0xc0, 4, ...A_IN]);
  const q = asQuery(readQuery(buf));
  assert.equal(q.qname, 'www.');
  assert.equal(q.questionEnd, 12 + 6 + 4);
});

test('NOTIFY with SOA answer and IXFR with SOA authority are parsed', () => {
  const soa = {
    type: 'SOA' as const,
    name: 'example.com',
    ttl: 0,
    data: { mname: 'ns.example.com', rname: 'h.example.com', serial: 5, refresh: 1, retry: 1, expire: 1, minimum: 1 },
  };
  const notify = dnsPacket.encode({ type: 'query', id: 1, flags: 4 << 11, questions: [{ type: 'SOA', name: 'example.com' }], answers: [soa] });
  const n = asQuery(readQuery(notify));
  assert.equal(n.opcode, 4);
  assert.equal(n.ancount, 1);
  assert.equal(n.qtype, 6);

  const ixfr = dnsPacket.encode({ type: 'query', id: 2, questions: [{ type: 'IXFR', name: 'example.com' }], authorities: [soa] });
  const x = asQuery(readQuery(ixfr));
  assert.equal(x.qtype, 251);
  assert.equal(x.nscount, 1);
});

function tsigRR(): number[] {
  const rdata = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  // owner "key." type 250 class ANY ttl 0
  return [3, 0x6b, 0x65, 0x79, 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, rdata.length, ...rdata];
}

test('TSIG presence is reported with its offset; it must be last', () => {
  const base = dnsPacket.encode({
    type: 'query',
    id: 11,
    questions: [{ type: 'AXFR', name: 'example.com' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as any],
  });
  const withTsig = Buffer.concat([base, Buffer.from(tsigRR())]);
  withTsig[11] = 2;
  const q = asQuery(readQuery(withTsig));
  assert.equal(q.hasTsig, true);
  assert.equal(q.tsigOffset, base.length);
  assert.equal(q.edns?.udpPayloadSize, 4096);

  // TSIG before OPT: FORMERR (RFC 8945 5.1).
  const optRR = base.subarray(base.length - 11);
  const bad = Buffer.concat([base.subarray(0, base.length - 11), Buffer.from(tsigRR()), optRR]);
  bad[11] = 2;
  const r = readQuery(bad);
  assert.equal(r.kind, 'formerr');
});

const OPT = [0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0];
const cases: { name: string; bytes: number[]; expect: 'drop' | 'formerr'; opcode?: number; reason?: string }[] = [
  { name: 'empty', bytes: [], expect: 'drop' },
  { name: '11 bytes', bytes: header(1, 0, 1, 0, 0, 0).slice(0, 11), expect: 'drop' },
  { name: 'response (QR set)', bytes: [...header(1, 0x8000, 1, 0, 0, 0), ...WWW, ...A_IN], expect: 'drop' },
  { name: 'response, even if malformed', bytes: header(1, 0x8400, 0, 9, 9, 9), expect: 'drop' },
  { name: 'header only, qdcount 0', bytes: header(1, 0, 0, 0, 0, 0), expect: 'formerr' },
  { name: 'NOTIFY with qdcount 0 keeps opcode', bytes: header(1, 4 << 11, 0, 0, 0, 0), expect: 'formerr', opcode: 4 },
  { name: 'UPDATE with qdcount 2 keeps opcode', bytes: [...header(1, 5 << 11, 2, 0, 0, 0), ...WWW, ...A_IN, ...WWW, ...A_IN], expect: 'formerr', opcode: 5 },
  { name: 'qdcount 1 without question', bytes: header(1, 0, 1, 0, 0, 0), expect: 'formerr' },
  { name: 'label runs past the end', bytes: [...header(1, 0, 1, 0, 0, 0), 10, 0x61, 0x62], expect: 'formerr' },
  { name: 'name without terminator', bytes: [...header(1, 0, 1, 0, 0, 0), 1, 0x61], expect: 'formerr' },
  { name: 'label type 01 (0x40)', bytes: [...header(1, 0, 1, 0, 0, 0), 0x41, 0, ...A_IN], expect: 'formerr' },
  { name: 'label type 10 (0x80)', bytes: [...header(1, 0, 1, 0, 0, 0), 0x81, 0, ...A_IN], expect: 'formerr' },
  { name: 'pointer to itself', bytes: [...header(1, 0, 1, 0, 0, 0), 0xc0, 12, ...A_IN], expect: 'formerr', reason: 'compression pointer loop' },
  { name: 'pointer loop of two', bytes: [...header(1, 0, 1, 0, 0, 0), 1, 0x61, 0xc0, 12, ...A_IN], expect: 'formerr' },
  { name: 'pointer beyond the packet', bytes: [...header(1, 0, 1, 0, 0, 0), 0xc0, 200, ...A_IN], expect: 'formerr' },
  { name: 'truncated pointer', bytes: [...header(1, 0, 1, 0, 0, 0), 0xc0], expect: 'formerr' },
  {
    name: 'name longer than 255 bytes',
    bytes: [...header(1, 0, 1, 0, 0, 0), ...Array.from({ length: 5 }, () => [63, ...new Array(63).fill(0x61)]).flat(), 0, ...A_IN],
    expect: 'formerr',
  },
  {
    name: 'name longer than 255 via pointers',
    bytes: [...header(1, 0, 1, 0, 0, 0), 63, ...new Array(63).fill(0x61), 0xc0, 12, ...A_IN],
    expect: 'formerr', reason: 'name longer than 255 bytes',
  },
  { name: 'missing qtype/qclass', bytes: [...header(1, 0, 1, 0, 0, 0), ...WWW, 0, 1], expect: 'formerr' },
  { name: 'ancount larger than the packet', bytes: [...header(1, 0, 1, 5, 0, 0), ...WWW, ...A_IN, ...OPT], expect: 'formerr', reason: 'record counts exceed the packet size' },
  { name: 'arcount 65535', bytes: [...header(1, 0, 1, 0, 0, 0), ...WWW, ...A_IN, ...OPT].map((b, i) => (i === 10 || i === 11 ? 0xff : b)), expect: 'formerr' },
  { name: 'arcount 1 but record truncated', bytes: [...header(1, 0, 1, 0, 0, 1), ...WWW, ...A_IN, 1, 0x61, 0, ...OPT.slice(1, 9)], expect: 'formerr', reason: 'truncated additional record' },
  { name: 'rdlength past the end', bytes: [...header(1, 0, 1, 0, 0, 1), ...WWW, ...A_IN, ...OPT.slice(0, 9), 0, 5], expect: 'formerr', reason: 'truncated rdata' },
  { name: 'two OPT records', bytes: [...header(1, 0, 1, 0, 0, 2), ...WWW, ...A_IN, ...OPT, ...OPT], expect: 'formerr', reason: 'more than one OPT record' },
  { name: 'OPT with non-root owner', bytes: [...header(1, 0, 1, 0, 0, 1), ...WWW, ...A_IN, 1, 0x61, ...OPT], expect: 'formerr', reason: 'OPT owner is not the root' },
  {
    name: 'malformed EDNS option',
    bytes: [...header(1, 0, 1, 0, 0, 1), ...WWW, ...A_IN, ...OPT.slice(0, 9), 0, 5, 0, 10, 0, 8, 1],
    expect: 'formerr',
    reason: 'malformed EDNS option',
  },
  { name: 'trailing garbage', bytes: [...header(1, 0, 1, 0, 0, 0), ...WWW, ...A_IN, 0xde, 0xad], expect: 'formerr', reason: 'trailing data after the last record' },
  { name: 'trailing garbage after OPT', bytes: [...header(1, 0, 1, 0, 0, 1), ...WWW, ...A_IN, ...OPT, 0], expect: 'formerr' },
  { name: 'bad label type in an authority owner', bytes: [...header(1, 0, 1, 0, 1, 0), ...WWW, ...A_IN, 0x80, ...OPT.slice(1)], expect: 'formerr' },
];

test('malformed inputs: drop vs formerr, never throws', () => {
  for (const c of cases) {
    let r: QueryReadResult | undefined;
    assert.doesNotThrow(() => {
      r = readQuery(new Uint8Array(c.bytes));
    }, c.name);
    assert.ok(r);
    assert.equal(r.kind, c.expect, `${c.name}: got ${r.kind}${r.kind !== 'query' ? ` (${r.reason})` : ''}`);
    if (r.kind === 'formerr') {
      assert.equal(r.id, 1, c.name);
      assert.equal(r.flags, (c.bytes[2] << 8) | c.bytes[3], c.name);
      assert.equal(r.opcode, c.opcode ?? 0, c.name);
      assert.ok(r.reason.length > 0);
      if (c.reason) assert.equal(r.reason, c.reason, c.name);
    }
  }
  // Sanity: the well-formed variants of the fixtures parse.
  assert.equal(readQuery(new Uint8Array([...header(1, 0, 1, 0, 0, 1), ...WWW, ...A_IN, ...OPT])).kind, 'query');
  assert.equal(
    readQuery(new Uint8Array([...header(1, 0, 1, 0, 0, 1), ...WWW, ...A_IN, ...OPT.slice(0, 9), 0, 4, 0, 10, 0, 0])).kind,
    'query',
  );
  const max = [...header(1, 0, 1, 0, 0, 0), ...[63, 63, 63].map(() => [63, ...new Array(63).fill(0x61)]).flat(), 61, ...new Array(61).fill(0x62), 0, ...A_IN];
  assert.equal(asQuery(readQuery(new Uint8Array(max))).qname.length, 254);
  // One byte more (wire length 256) is rejected.
  const over = [...max.slice(0, 12 + 192), 62, ...new Array(62).fill(0x62), 0, ...A_IN];
  assert.equal(readQuery(new Uint8Array(over)).kind, 'formerr');
});

test('20,000 random and mutated buffers never throw', () => {
  let seed = 0x9e3779b9;
  const rnd = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const seeds: Uint8Array[] = [
    dnsPacket.encode({ type: 'query', id: 1, flags: 0x100, questions: [{ type: 'A', name: 'www.example.com' }] }),
    dnsPacket.encode({
      type: 'query',
      id: 2,
      questions: [{ type: 'MX', name: 'Mail.Example.org' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0x8000, options: [{ code: 10, data: Buffer.alloc(8) }] } as any],
    }),
    new Uint8Array([...header(1, 0, 1, 0, 1, 2), ...WWW, ...A_IN, 0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 0, ...OPT, ...tsigRR()]),
  ];
  const counts = { query: 0, formerr: 0, drop: 0 };
  for (let i = 0; i < 20000; i++) {
    let b: Uint8Array;
    const mode = rnd(4);
    if (mode === 0) {
      b = new Uint8Array(rnd(80));
      for (let k = 0; k < b.length; k++) b[k] = rnd(256);
      if (b.length > 2 && rnd(2)) b[2] &= 0x7f;
    } else {
      const s = seeds[rnd(seeds.length)];
      b = new Uint8Array(s);
      const flips = 1 + rnd(4);
      for (let f = 0; f < flips; f++) b[rnd(b.length)] = rnd(256);
      b[2] &= 0x7f;
      if (mode === 2) b = b.subarray(0, rnd(b.length + 1));
      if (mode === 3) {
        const extra = new Uint8Array(b.length + rnd(6));
        extra.set(b);
        b = extra;
      }
    }
    let r: QueryReadResult;
    try {
      r = readQuery(b);
    } catch (e) {
      assert.fail(`threw on ${Buffer.from(b).toString('hex')}: ${String(e)}`);
    }
    counts[r.kind]++;
    if (r.kind === 'query') {
      assert.ok(r.qname.endsWith('.'));
      assert.ok(r.questionEnd <= b.length);
      assert.equal(r.qnameKey, r.qname.toLowerCase());
    } else if (r.kind === 'formerr') {
      assert.equal(r.reason === 'unparseable', false, 'the defensive catch must never be reached');
    }
  }
  assert.ok(counts.query > 0 && counts.formerr > 0 && counts.drop > 0, JSON.stringify(counts));
});

test('the question name, spelled on first use, is every byte escaped as the presentation form says (random names)', () => {
  let seed = 20261202;
  const random = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  /** The presentation form the ParsedQuery documents: `.` and `\` escaped, other bytes outside 33..126 as \DDD. */
  const present = (labels: number[][]): string =>
    labels.length === 0
      ? '.'
      : labels
          .map((l) => l.map((c) => (c === 46 || c === 92 ? `\\${String.fromCharCode(c)}` : c > 32 && c < 127 ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`)).join('') + '.')
          .join('');
  for (let i = 0; i < 5000; i++) {
    const labels: number[][] = [];
    let wire = 1;
    for (let n = Math.floor(random() * 5); n > 0; n--) {
      const len = 1 + Math.floor(random() * (random() < 0.9 ? 12 : 63));
      if (wire + len + 1 > 255) break;
      wire += len + 1;
      // Mostly letters of both cases and digits, sometimes any byte.
      labels.push(Array.from({ length: len }, () => (random() < 0.8 ? 'aZq-09.\\'.charCodeAt(Math.floor(random() * 8)) : Math.floor(random() * 256))));
    }
    // The name as the question, or (half the time) its last labels first in the message behind a
    // compression pointer: NOTIFY-like messages are free to do that.
    const nameBytes = (ls: number[][]): number[] => [...ls.flatMap((l) => [l.length, ...l]), 0];
    let msg: number[];
    if (labels.length > 1 && random() < 0.5) {
      // Header, then the first label and a pointer to the rest, which follows the question.
      const rest = nameBytes(labels.slice(1));
      const restAt = 12 + 1 + labels[0].length + 2 + 4;
      msg = [0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, labels[0].length, ...labels[0], 0xc0 | (restAt >> 8), restAt & 0xff, 0, 1, 0, 1];
      // The rest of the name is trailing data unless it is a record's owner: make it one (an answer RR).
      msg[7] = 1;
      msg.push(...rest, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0);
    } else {
      msg = [0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...nameBytes(labels), 0, 1, 0, 1];
    }
    const q = readQuery(Buffer.from(msg));
    assert.equal(q.kind, 'query', `message ${i}`);
    const expected = present(labels);
    assert.equal((q as ParsedQuery).qname, expected, `message ${i}`);
    assert.equal((q as ParsedQuery).qnameKey, expected.replace(/[A-Z]/g, (c) => c.toLowerCase()), `message ${i}`);
  }
});
