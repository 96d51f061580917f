/**
 * An AXFR in flight is part of the shutdown drain: closing the DNS listeners while a large zone is
 * still being sent (a few messages per event-loop turn) lets it finish, closing SOA included, before
 * the connection ends; close() resolves only after it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startDns } from '../../src/dns/server.ts';
import { createTransferHandlers } from '../../src/dns/transfer/index.ts';
import { testLedger } from '../helpers/ledger.ts';
import { decode, makeQuery } from './helpers.ts';

test('closing the DNS listeners mid-AXFR waits for the transfer to finish (closing SOA sent)', async () => {
  const env = testLedger();
  const zone = 'big.test';
  env.ledger.execute({ kind: 'createZone', zone, soa: { primary_ns: 'ns.big.test.', admin_email: 'h.big.test.' } }, { actor: 't' });
  env.ledger.execute(
    { kind: 'changeRecords', zone, ops: Array.from({ length: 20000 }, (_, i) => ({ op: 'create' as const, name: `h${i}.${zone}`, type: 'TXT', value: `"record number ${i} of the drain test"` })) },
    { actor: 't' },
  );
  const xfr = createTransferHandlers({ ledger: env.ledger, config: { allow_from: ['127.0.0.0/8'], allow_keys: [], notify: [], keys: {} } });
  const dns = await startDns({ ledger: env.ledger, listen: ['127.0.0.1:0'], handlers: xfr.handlers, transfer: xfr.transfer });
  const port = dns.addresses[0].tcp.port;
  try {
    const msgs: Buffer[] = [];
    let closed: Promise<void> | undefined;
    let inFlightAtClose = -1;
    await new Promise<void>((resolve, reject) => {
      const sock = connect({ port, host: '127.0.0.1' });
      let buf = Buffer.alloc(0);
      sock.on('connect', () => {
        const q = makeQuery(zone, 'AXFR');
        const frame = Buffer.alloc(2);
        frame.writeUInt16BE(q.length);
        sock.write(Buffer.concat([frame, q]));
      });
      sock.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          msgs.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
          // Shut down as soon as the transfer has started.
          if (!closed) {
            inFlightAtClose = xfr.inFlight;
            closed = dns.close();
          }
        }
      });
      sock.on('close', () => resolve());
      sock.on('error', reject);
    });
    await closed;
    assert.equal(inFlightAtClose, 1, 'the transfer was in flight when the listeners were closed');
    assert.equal(xfr.inFlight, 0);
    const records = msgs.flatMap((m) => decode(m).answers ?? []);
    assert.ok(msgs.length > 8, `a multi-turn transfer (${msgs.length} messages)`);
    assert.equal(records[0].type, 'SOA');
    assert.equal(records[records.length - 1].type, 'SOA', 'the closing SOA arrived: the transfer was not cut off');
    assert.equal(records.filter((r) => r.type === 'TXT').length, 20000);
  } finally {
    xfr.close();
    env.cleanup();
  }
});
