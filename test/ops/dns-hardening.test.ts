/**
 * The DNS limits reach the running server from mcns.toml: [dns] tcp_max_per_client and
 * tcp_message_timeout, [dns.rrl] responses_per_second and slip, with what an operator sees in
 * /metrics and in the log when each triggers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { tempDir } from '../helpers/ledger.ts';
import { buildQuery } from '../dns/helpers.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { httpsText, sampleOrZero } from '../helpers/scrape.ts';
import { waitFor } from '../helpers/wait.ts';



test('mcns.toml limits reach the listeners: RRL drops and slips a UDP burst, TCP caps a client and closes a trickle; /metrics and the log show it', async () => {
  const { dir, cleanup } = tempDir();
  const cfg = writeServerConfig(dir, {
    dns: ['tcp_max_per_client = 2', 'tcp_message_timeout = "300ms"', '[dns.rrl]', 'responses_per_second = 5', 'slip = 2'],
  });
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  const server = await startServer(loadConfig({ path: cfg, env: {} }), { logger: pino({ level: 'info' }, sink) });
  const sockets: net.Socket[] = [];
  try {
    server.ledger.execute(importCommand('h.test', '$TTL 60\n@ SOA ns.h.test. h.h.test. 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n'), { actor: 'test' });
    const port = Number(server.dns[0].udp.split(':').pop());
    const restPort = Number(server.rest.split(':').pop());

    // RRL: 40 queries at once from 127.0.0.1; about 5 answered, the rest over the rate.
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind({ address: '127.0.0.1', port: 0 }, r));
    const replies: Buffer[] = [];
    udp.on('message', (b) => replies.push(b));
    for (let i = 0; i < 40; i++) udp.send(buildQuery({ name: 'ns.h.test.', id: i + 1 }), port, '127.0.0.1');
    const text = await waitFor(
      async () => {
        const t = await httpsText(restPort, '/metrics');
        return sampleOrZero(t, /^mcns_dns_rrl_limited_total /) >= 20 ? t : undefined;
      },
      { timeoutMs: 10_000, what: 'RRL counts in /metrics' },
    );
    udp.close();
    const limited = sampleOrZero(text, /^mcns_dns_rrl_limited_total /);
    const slipped = sampleOrZero(text, /^mcns_dns_rrl_slipped_total /);
    assert.ok(limited >= 20 && limited <= 35, `limited ${limited}`);
    assert.ok(Math.abs(slipped - limited / 2) <= 1, `slipped ${slipped} of ${limited}`);
    assert.ok(replies.length < 40, `${replies.length} replies to 40 queries`);
    assert.ok(replies.some((b) => (b[2] & 0x02) !== 0), 'some replies are slips (TC=1)');
    const started = lines.find((l) => l.msg.startsWith('DNS response rate limiting started'));
    assert.ok(started, 'a warn line when limiting starts');
    assert.equal(started.level, 40);
    assert.equal(started.prefix, '127.0.0.0/24');

    // TCP: a third connection from one address is closed at once; a trickle is closed at 300 ms.
    const open = (): net.Socket => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      sockets.push(s);
      return s;
    };
    const closedAt = (s: net.Socket): Promise<number> => new Promise((r) => s.on('close', () => r(Date.now())));
    const a = open();
    const b = open();
    await Promise.all([a, b].map((s) => new Promise((r) => s.once('connect', r))));
    const third = open();
    await closedAt(third);
    const t0 = Date.now();
    a.write(Buffer.from([0, 40, 1]));
    const aClosed = await closedAt(a);
    assert.ok(aClosed - t0 >= 250 && aClosed - t0 < 2000, `trickle closed after ${aClosed - t0} ms`);
    const tcpText = await waitFor(
      async () => {
        const t = await httpsText(restPort, '/metrics');
        return sampleOrZero(t, /^mcns_dns_tcp_closed_total\{reason="message_timeout"\}/) >= 1 ? t : undefined;
      },
      { timeoutMs: 5000, what: 'TCP counts in /metrics' },
    );
    assert.equal(sampleOrZero(tcpText, /^mcns_dns_tcp_closed_total\{reason="per_client_limit"\}/), 1);
    assert.ok(lines.some((l) => l.level === 40 && /tcp_max_per_client/.test(l.msg)));
    assert.ok(lines.some((l) => l.level === 40 && /tcp_message_timeout/.test(l.msg)));
  } finally {
    for (const s of sockets) s.destroy();
    await server.stop('test');
    cleanup();
  }
});
