import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { encodeMessage, encodeName, type WireMessage, type WireRR } from '../../src/dns/wire.ts';
import { ipv4ToBytes, ipv6ToBytes } from '../../src/records/ip.ts';

const QR_AA = 0x8400;
const TC = 0x0200;
const te = new TextEncoder();

function msg(partial: Partial<WireMessage>): WireMessage {
  return {
    id: 0x1234,
    flags: QR_AA,
    question: [{ name: 'www.example.com.', type: 1, class: 1 }],
    answer: [],
    authority: [],
    additional: [],
    ...partial,
  };
}

function decode(bytes: Buffer): any {
  return dnsPacket.decode(bytes) as any;
}

function counts(b: Buffer): number[] {
  return [b.readUInt16BE(4), b.readUInt16BE(6), b.readUInt16BE(8), b.readUInt16BE(10)];
}

/** Every compression pointer (in names we know the position of) must target < 0x3FFF; helper walks a name. */
function nameAt(b: Buffer, off: number): { name: string; end: number } {
  const labels: string[] = [];
  let end = -1;
  let p = off;
  for (let hops = 0; hops < 200; hops++) {
    const l = b[p];
    if (l === 0) {
      if (end < 0) end = p + 1;
      return { name: labels.join('.') + '.', end };
    }
    if ((l & 0xc0) === 0xc0) {
      if (end < 0) end = p + 2;
      p = ((l & 0x3f) << 8) | b[p + 1];
      continue;
    }
    labels.push(b.toString('latin1', p + 1, p + 1 + l));
    p += 1 + l;
  }
  throw new Error('loop');
}

test('ipv4ToBytes', () => {
  assert.deepEqual([...ipv4ToBytes('192.0.2.1')], [192, 0, 2, 1]);
  assert.deepEqual([...ipv4ToBytes('0.0.0.0')], [0, 0, 0, 0]);
  assert.deepEqual([...ipv4ToBytes('255.255.255.255')], [255, 255, 255, 255]);
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '1.2.3.4 ', 'a.b.c.d', '1.2.3.', '.1.2.3', '1234.1.1.1', '-1.2.3.4']) {
    assert.throws(() => ipv4ToBytes(bad), RangeError, bad);
    assert.equal(isIPv4(bad), false, bad);
  }
});

test('ipv6ToBytes', () => {
  const hex = (s: string) => Buffer.from(ipv6ToBytes(s)).toString('hex');
  assert.equal(hex('::'), '00'.repeat(16));
  assert.equal(hex('::1'), '00'.repeat(15) + '01');
  assert.equal(hex('1::'), '0001' + '00'.repeat(14));
  assert.equal(hex('2001:db8::1'), '20010db8' + '00'.repeat(11) + '01');
  assert.equal(hex('2001:DB8:0:0:8:800:200C:417A'), '20010db80000000000080800200c417a');
  assert.equal(hex('::ffff:192.0.2.1'), '00'.repeat(10) + 'ffffc0000201');
  assert.equal(hex('64:ff9b::192.0.2.33'), '0064ff9b' + '00'.repeat(8) + 'c0000221');
  assert.equal(hex('1:2:3:4:5:6:1.2.3.4'), '000100020003000400050006' + '01020304');
  assert.equal(hex('1:2:3:4:5:6:7::'), '0001000200030004000500060007' + '0000');
  assert.equal(hex('::2:3:4:5:6:7:8'), '0000000200030004000500060007' + '0008');
  const bad = [
    '', ':', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::', '1:2:3:4:5:6:7:8::',
    '::1.2.3', '1.2.3.4', '::1.2.3.4:5', '1:', ':1', '1:2:3:4:5:6:7:1.2.3.4', '::256.1.1.1', ' ::1', '1::2:',
  ];
  for (const b of bad) {
    assert.throws(() => ipv6ToBytes(b), RangeError, b);
    assert.equal(isIPv6(b), false, b);
  }
  // Cross-check a few valid forms against dns-packet's own AAAA encoder.
  for (const s of ['fe80::1:2', '::ffff:10.0.0.1', 'a:b:c:d:e:f:0:1', '2001:db8:0:1::']) {
    const ref = dnsPacket.encode({ type: 'response', answers: [{ type: 'AAAA', name: 'x', data: s }] });
    assert.equal(ref.subarray(ref.length - 16).toString('hex'), hex(s), s);
  }
});

test('encodeName: labels, escapes, root, errors', () => {
  assert.deepEqual(Buffer.from(encodeName('www.Example.com.')), Buffer.from('\x03www\x07Example\x03com\x00', 'latin1'));
  assert.deepEqual(Buffer.from(encodeName('www.example.com')), Buffer.from('\x03www\x07example\x03com\x00', 'latin1'));
  assert.deepEqual([...encodeName('.')], [0]);
  assert.deepEqual([...encodeName('')], [0]);
  assert.deepEqual(Buffer.from(encodeName('a\\.b.c.')), Buffer.from('\x03a.b\x01c\x00', 'latin1'));
  assert.deepEqual(Buffer.from(encodeName('\\065\\\\\\000\\255x.')), Buffer.from('\x05A\\\x00\xffx\x00', 'latin1'));
  assert.deepEqual(Buffer.from(encodeName('\\(x\\).')), Buffer.from('\x03(x)\x00', 'latin1'));
  const l63 = 'a'.repeat(63);
  assert.equal(encodeName(`${l63}.`).length, 65);
  // 255 bytes exactly: 3 * 64 + 62 + 1
  const max = `${l63}.${l63}.${l63}.${'b'.repeat(61)}.`;
  assert.equal(encodeName(max).length, 255);
  for (const bad of [`${'a'.repeat(64)}.`, `${max.slice(0, -1)}c.`, 'a..b.', '.a.', 'a\\', 'a\\25', 'a\\256.', 'a b.', 'é.']) {
    assert.throws(() => encodeName(bad), RangeError, bad);
  }
});

test('every RData type round-trips through dns-packet', () => {
  const rrs: WireRR[] = [
    { name: 'example.com.', type: 'A', ttl: 300, data: { type: 'A', address: '192.0.2.1' } },
    { name: 'example.com.', type: 'AAAA', ttl: 300, data: { type: 'AAAA', address: '2001:db8::1' } },
    { name: 'www.example.com.', type: 'CNAME', ttl: 60, data: { type: 'CNAME', target: 'example.com.' } },
    { name: 'example.com.', type: 'NS', ttl: 86400, data: { type: 'NS', target: 'ns1.example.net.' } },
    { name: '1.2.0.192.in-addr.arpa.', type: 'PTR', ttl: 60, data: { type: 'PTR', target: 'host.example.com.' } },
    { name: 'example.com.', type: 'MX', ttl: 60, data: { type: 'MX', preference: 10, exchange: 'mail.example.com.' } },
    {
      name: 'example.com.',
      type: 'TXT',
      ttl: 60,
      data: { type: 'TXT', strings: [te.encode('v=spf1 -all'), te.encode(''), te.encode('x'.repeat(255))] },
    },
    {
      name: '_sip._tcp.example.com.',
      type: 'SRV',
      ttl: 60,
      data: { type: 'SRV', priority: 1, weight: 2, port: 5060, target: 'sip.example.com.' },
    },
    { name: 'example.com.', type: 'CAA', ttl: 60, data: { type: 'CAA', flags: 128, tag: 'issue', value: te.encode('letsencrypt.org') } },
    {
      name: 'example.com.',
      type: 'SOA',
      ttl: 3600,
      data: {
        type: 'SOA',
        mname: 'ns1.example.com.',
        rname: 'hostmaster.example.com.',
        serial: 4294967295,
        refresh: 7200,
        retry: 900,
        expire: 1209600,
        minimum: 300,
      },
    },
  ];
  const { bytes, truncated } = encodeMessage(msg({ question: [{ name: 'example.com.', type: 255, class: 1 }], answer: rrs }));
  assert.equal(truncated, false);
  const d = decode(bytes);
  assert.equal(d.id, 0x1234);
  assert.equal(d.answers.length, rrs.length);
  const byType = (t: string) => d.answers.find((a: any) => a.type === t);
  assert.equal(byType('A').data, '192.0.2.1');
  assert.equal(byType('A').ttl, 300);
  assert.equal(byType('A').class, 'IN');
  assert.equal(byType('AAAA').data, '2001:db8::1');
  assert.equal(byType('CNAME').name, 'www.example.com');
  assert.equal(byType('CNAME').data, 'example.com');
  assert.equal(byType('NS').data, 'ns1.example.net');
  assert.equal(byType('PTR').name, '1.2.0.192.in-addr.arpa');
  assert.equal(byType('PTR').data, 'host.example.com');
  assert.deepEqual(byType('MX').data, { preference: 10, exchange: 'mail.example.com' });
  assert.deepEqual(
    byType('TXT').data.map((b: Buffer) => b.toString()),
    ['v=spf1 -all', '', 'x'.repeat(255)],
  );
  assert.deepEqual(byType('SRV').data, { priority: 1, weight: 2, port: 5060, target: 'sip.example.com' });
  const caa = byType('CAA').data;
  assert.equal(caa.flags, 128);
  assert.equal(caa.tag, 'issue');
  assert.equal(caa.value, 'letsencrypt.org');
  assert.deepEqual(byType('SOA').data, {
    mname: 'ns1.example.com',
    rname: 'hostmaster.example.com',
    serial: 4294967295,
    refresh: 7200,
    retry: 900,
    expire: 1209600,
    minimum: 300,
  });
  // Compressed encoding is smaller than dns-packet's uncompressed one.
  assert.ok(bytes.length < dnsPacket.encode(d).length);
});

test('compression: answer owner points to the case-preserved question name; size matches Knot', () => {
  const rr = (address: string): WireRR => ({ name: 'www.example.com.', type: 'A', ttl: 300, data: { type: 'A', address } });
  const ns = (target: string): WireRR => ({ name: 'example.com.', type: 'NS', ttl: 86400, data: { type: 'NS', target } });
  const m = msg({
    question: [{ name: 'WwW.Example.COM', type: 1, class: 1 }],
    answer: [rr('192.0.2.1'), rr('192.0.2.2')],
    authority: [ns('ns1.example.com.'), ns('ns2.example.com.')],
  });
  const { bytes } = encodeMessage(m);
  // header 12 + question (name 17 + 4) = 33
  // each A: owner pointer 2 + type/class/ttl/rdlen 10 + 4 = 16 -> 65
  // each NS: owner pointer 2 + 10 + rdata (label "ns1" 4 + pointer 2) = 18 -> 101
  assert.equal(bytes.length, 101);
  assert.equal(bytes.toString('latin1', 13, 28), 'WwW\x07Example\x03COM');
  assert.deepEqual([bytes[33], bytes[34]], [0xc0, 0x0c]); // first answer owner -> question
  assert.deepEqual([bytes[49], bytes[50]], [0xc0, 0x0c]);
  assert.deepEqual([bytes[65], bytes[66]], [0xc0, 0x10]); // "example.com" suffix of the question at 16
  assert.deepEqual([...bytes.subarray(77, 83)], [3, 0x6e, 0x73, 0x31, 0xc0, 0x10]);
  const d = decode(bytes);
  assert.equal(d.answers[0].name, 'WwW.Example.COM');
  assert.equal(d.answers[1].data, '192.0.2.2');
  assert.equal(d.authorities[1].data, 'ns2.Example.COM');
  assert.deepEqual(counts(bytes), [1, 2, 2, 0]);

  // With EDNS the OPT RR adds 11 bytes.
  const withOpt = encodeMessage({ ...m, edns: { udpPayloadSize: 1232, extendedRcode: 0, version: 0, flags: 0x8000, options: new Uint8Array() } });
  assert.equal(withOpt.bytes.length, 112);
  const o = decode(withOpt.bytes).additionals[0];
  assert.equal(o.type, 'OPT');
  assert.equal(o.udpPayloadSize, 1232);
  assert.equal(o.flag_do, true);
});

test('compression inside MX and SOA rdata; SRV target and root are never compressed', () => {
  const m = msg({
    question: [{ name: 'example.com.', type: 6, class: 1 }],
    answer: [
      {
        name: 'example.com.',
        type: 'SOA',
        ttl: 3600,
        data: {
          type: 'SOA',
          mname: 'ns1.example.com.',
          rname: 'hostmaster.example.com.',
          serial: 1,
          refresh: 2,
          retry: 3,
          expire: 4,
          minimum: 5,
        },
      },
    ],
    authority: [{ name: 'example.com.', type: 'MX', ttl: 1, data: { type: 'MX', preference: 5, exchange: 'ns1.example.com.' } }],
    additional: [
      { name: 'example.com.', type: 'SRV', ttl: 1, data: { type: 'SRV', priority: 0, weight: 0, port: 53, target: 'ns1.example.com.' } },
      { name: 'example.com.', type: 'NS', ttl: 1, data: { type: 'NS', target: '.' } },
    ],
  });
  const { bytes } = encodeMessage(m);
  let p = 12 + 13 + 4; // question: 7example3com0 = 13
  // SOA owner pointer, rdata: ns1 + ptr (6), hostmaster + ptr (13), 20
  assert.deepEqual([bytes[p], bytes[p + 1]], [0xc0, 0x0c]);
  assert.equal(bytes.readUInt16BE(p + 10), 6 + 13 + 20);
  const soaRdata = p + 12;
  p = soaRdata + 39;
  // MX: exchange fully compressed to the SOA mname
  assert.equal(bytes.readUInt16BE(p + 10), 2 + 2);
  assert.deepEqual([bytes[p + 14], bytes[p + 15]], [0xc0 | (soaRdata >> 8), soaRdata & 0xff]);
  p += 16;
  // SRV: 6 + full uncompressed target (17)
  assert.equal(bytes.readUInt16BE(p + 10), 6 + 17);
  assert.equal(bytes.toString('latin1', p + 18, p + 35), '\x03ns1\x07example\x03com\x00');
  p += 12 + 23;
  assert.equal(bytes.readUInt16BE(p + 10), 1);
  assert.equal(bytes[p + 12], 0);
  assert.equal(p + 13, bytes.length);
  const d = decode(bytes);
  assert.equal(d.answers[0].data.rname, 'hostmaster.example.com');
  assert.equal(d.authorities[0].data.exchange, 'ns1.example.com');
  assert.equal(d.additionals[0].data.target, 'ns1.example.com');
});

test('compression is case-insensitive and honours escapes', () => {
  const m = msg({
    question: [{ name: 'a\\.b.Example.com.', type: 1, class: 1 }],
    answer: [
      { name: 'A\\.B.EXAMPLE.COM.', type: 'A', ttl: 1, data: { type: 'A', address: '192.0.2.1' } },
      // "a.b.example.com." (two labels a, b) must NOT match the single label "a.b".
      { name: 'a.b.example.com.', type: 'A', ttl: 1, data: { type: 'A', address: '192.0.2.2' } },
      { name: '\\065\\.b.example.com.', type: 'A', ttl: 1, data: { type: 'A', address: '192.0.2.3' } },
    ],
  });
  const { bytes } = encodeMessage(m);
  const q = 12 + 4 + 8 + 4 + 1 + 4; // 3a.b 7Example 3com 0 + type/class
  assert.deepEqual([bytes[q], bytes[q + 1]], [0xc0, 0x0c]);
  const second = q + 16;
  assert.equal(nameAt(bytes, second).name, 'a.b.Example.com.');
  assert.deepEqual([...bytes.subarray(second, second + 4)], [1, 0x61, 1, 0x62]);
  const third = nameAt(bytes, second).end + 14;
  assert.deepEqual([bytes[third], bytes[third + 1]], [0xc0, 0x0c]);
});

test('raw rdata, numeric types, classes and EDNS options', () => {
  const opts = new Uint8Array([0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
  const { bytes } = encodeMessage(
    msg({
      answer: [{ name: 'www.example.com.', type: 99, class: 3, ttl: 5, data: new Uint8Array([1, 2, 3]) }],
      edns: { udpPayloadSize: 4096, extendedRcode: 1, version: 0, flags: 0x8000, options: opts },
    }),
  );
  const d = decode(bytes);
  assert.equal(d.answers[0].class, 'CH');
  assert.deepEqual([...d.answers[0].data], [1, 2, 3]);
  const opt = d.additionals[0];
  assert.equal(opt.extendedRcode, 1);
  assert.equal(opt.options[0].code, 10);
  assert.deepEqual([...bytes.subarray(bytes.length - 12)], [...opts]);
  assert.throws(() => encodeMessage(msg({ answer: [{ name: 'x.', type: 'A', ttl: 1, data: { type: 'A', address: '1.2.3' } }] })), RangeError);
  assert.throws(() => encodeMessage(msg({ answer: [{ name: 'x.', type: 'NS', ttl: 1, data: { type: 'A', address: '1.2.3.4' } }] })), RangeError);
  assert.throws(
    () => encodeMessage(msg({ answer: [{ name: 'x.', type: 'TXT', ttl: 1, data: { type: 'TXT', strings: [new Uint8Array(256)] } }] })),
    RangeError,
  );
});

test('pointers only target offsets below 0x3FFF', () => {
  const filler = new Uint8Array(255).fill(0x41);
  const answer: WireRR[] = [];
  for (let i = 0; i < 70; i++) answer.push({ name: `n${i}.example.com.`, type: 'TXT', ttl: 1, data: { type: 'TXT', strings: [filler] } });
  answer.push({ name: 'late.example.com.', type: 'A', ttl: 1, data: { type: 'A', address: '192.0.2.1' } });
  answer.push({ name: 'late.example.com.', type: 'A', ttl: 1, data: { type: 'A', address: '192.0.2.2' } });
  const { bytes } = encodeMessage(msg({ answer }));
  assert.ok(bytes.length > 0x4000);
  // The first "late" owner is written beyond 0x3FFF, so the second one cannot point to it:
  // it is "late" + pointer to the question's "example.com" (7 bytes) rather than a 2-byte pointer.
  const last = bytes.length - 14 - 7;
  assert.deepEqual([...bytes.subarray(last, last + 7)], [4, 0x6c, 0x61, 0x74, 0x65, 0xc0, 0x10]);
  const d = decode(bytes);
  assert.equal(d.answers.length, 72);
  assert.equal(d.answers[71].name, 'late.example.com');
  // Scan every owner-name pointer in the answers.
  let p = 12 + 17 + 4;
  for (let i = 0; i < 72; i++) {
    const { end } = nameAt(bytes, p);
    for (let k = p; k < end; k++) {
      if ((bytes[k] & 0xc0) === 0xc0) assert.ok((((bytes[k] & 0x3f) << 8) | bytes[k + 1]) < 0x3fff);
    }
    p = end + 10 + bytes.readUInt16BE(end + 8);
  }
  assert.equal(p, bytes.length);
});

function glue(name: string, n: number, base = 1): WireRR[] {
  return Array.from({ length: n }, (_, i) => ({ name, type: 'A' as const, ttl: 1, data: { type: 'A' as const, address: `192.0.2.${base + i}` } }));
}

test('truncation: additional RRsets are dropped whole, silently, and OPT stays last', () => {
  const edns = { udpPayloadSize: 512, extendedRcode: 0, version: 0, flags: 0, options: new Uint8Array() };
  const answer: WireRR[] = [
    { name: 'example.com.', type: 'NS', ttl: 1, data: { type: 'NS', target: 'ns1.example.com.' } },
    { name: 'example.com.', type: 'NS', ttl: 1, data: { type: 'NS', target: 'ns2.example.com.' } },
  ];
  const additional = [...glue('ns1.example.com.', 10), ...glue('ns2.example.com.', 30, 100)];
  const full = encodeMessage(msg({ question: [{ name: 'example.com.', type: 2, class: 1 }], answer, additional, edns }));
  assert.ok(full.bytes.length > 512);
  const r = encodeMessage(msg({ question: [{ name: 'example.com.', type: 2, class: 1 }], answer, additional, edns }), 512);
  assert.equal(r.truncated, false);
  assert.equal(r.bytes.readUInt16BE(2) & TC, 0);
  assert.ok(r.bytes.length <= 512);
  assert.deepEqual(counts(r.bytes), [1, 2, 0, 11]); // ns1 RRset (10) + OPT; ns2's 30 records dropped together
  const d = decode(r.bytes);
  assert.equal(d.additionals[10].type, 'OPT');
  assert.ok(d.additionals.slice(0, 10).every((a: any) => a.name === 'ns1.example.com'));

  // Partial RRset never sent: 8 ns2 records would fit, but the set of 9 does not.
  const r2 = encodeMessage(msg({ question: [{ name: 'example.com.', type: 2, class: 1 }], answer, additional: glue('ns2.example.com.', 40) }), 512);
  assert.equal(r2.truncated, false);
  assert.deepEqual(counts(r2.bytes), [1, 2, 0, 0]);

  // Interleaved RRset members: cutting between them would split the "a." set.
  const inter = [...glue('a.example.com.', 1), ...glue('b.example.com.', 1), ...glue('A.example.COM.', 30, 10)];
  const r3 = encodeMessage(msg({ answer: [], additional: inter }), 300);
  assert.deepEqual(counts(r3.bytes), [1, 0, 0, 0]);
  assert.equal(r3.truncated, false);
});

test('truncation: TC when answer does not fit, header + question + OPT only', () => {
  const answer: WireRR[] = Array.from({ length: 30 }, (_, i) => ({
    name: 'www.example.com.',
    type: 'TXT' as const,
    ttl: 1,
    data: { type: 'TXT' as const, strings: [te.encode(`record number ${i} with some padding`)] },
  }));
  const edns = { udpPayloadSize: 4096, extendedRcode: 0, version: 0, flags: 0x8000, options: new Uint8Array() };
  const r = encodeMessage(msg({ answer, additional: glue('x.example.com.', 2), edns }), 512);
  assert.equal(r.truncated, true);
  assert.equal(r.bytes.readUInt16BE(2), QR_AA | TC);
  assert.deepEqual(counts(r.bytes), [1, 0, 0, 1]);
  assert.equal(r.bytes.length, 12 + 17 + 4 + 11);
  const d = decode(r.bytes);
  assert.equal(d.questions[0].name, 'www.example.com');
  assert.equal(d.additionals[0].type, 'OPT');
  assert.equal(d.additionals[0].flag_do, true);

  const noEdns = encodeMessage(msg({ answer }), 512);
  assert.equal(noEdns.truncated, true);
  assert.deepEqual(counts(noEdns.bytes), [1, 0, 0, 0]);
  assert.equal(noEdns.bytes.length, 12 + 17 + 4);

  // Fits in a larger limit.
  const big = encodeMessage(msg({ answer, edns }), 4096);
  assert.equal(big.truncated, false);
  assert.deepEqual(counts(big.bytes), [1, 30, 0, 1]);

  // Without maxSize the TCP limit of 65535 applies.
  const huge: WireRR[] = Array.from({ length: 300 }, (_, i) => ({
    name: `h${i}.example.com.`,
    type: 'TXT' as const,
    ttl: 1,
    data: { type: 'TXT' as const, strings: [new Uint8Array(255)] },
  }));
  const t = encodeMessage(msg({ answer: huge }));
  assert.equal(t.truncated, true);
  assert.equal(t.bytes.length, 33);
  assert.equal(encodeMessage(msg({ answer: huge.slice(0, 200) })).truncated, false);
});

test('the encoder state is reset between calls', () => {
  const a = encodeMessage(msg({ answer: glue('www.example.com.', 2) }));
  encodeMessage(msg({ question: [{ name: 'other.test.', type: 1, class: 1 }], answer: glue('x.other.test.', 50) }));
  const b = encodeMessage(msg({ answer: glue('www.example.com.', 2) }));
  assert.deepEqual(a.bytes, b.bytes);
  assert.equal(a.bytes.length, 12 + 21 + 32);
});
