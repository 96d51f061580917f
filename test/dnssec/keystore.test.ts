/**
 * The private-key table: keys are found by their public half, rows cannot be changed, a second
 * different key for the same DNSKEY is refused, and a snapshot taken the way the server takes it
 * (VACUUM INTO) carries the keys, so a restored snapshot signs with the same keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateKey } from '../../src/dnssec/algorithms.ts';
import { KeyStore } from '../../src/dnssec/keystore.ts';
import { zoneKeyRdata } from '../../src/dnssec/zone-keys.ts';

test('keys are stored once, found by their DNSKEY, immutable, and carried by VACUUM INTO', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcns-keystore-'));
  try {
    const db = new Database(join(dir, 'mcns.db'));
    const store = new KeyStore(db);
    const m = generateKey('ecdsap256sha256');
    const { rdata, tag } = zoneKeyRdata({ role: 'csk', publicKey: m.publicKey, algorithm: 'ecdsap256sha256' });
    const sha = createHash('sha256').update(rdata).digest();
    const key = { zone: 'example.test.', tag, algorithm: 'ecdsap256sha256' as const, dnskeySha256: sha, pkcs8: m.privatePkcs8, createdAt: new Date().toISOString() };
    store.put(key);
    store.put(key); // the same key again: no-op
    assert.equal(store.count(), 1);
    assert.ok(store.get('example.test.', sha)?.pkcs8.equals(m.privatePkcs8));
    assert.equal(store.get('other.test.', sha), undefined);
    assert.throws(() => store.put({ ...key, pkcs8: generateKey('ecdsap256sha256').privatePkcs8 }), /different private key/);
    assert.throws(() => db.prepare('UPDATE dnssec_private_keys SET pkcs8 = x\'00\'').run(), /immutable/);

    const snapshot = join(dir, 'snap.db');
    db.prepare('VACUUM INTO ?').run(snapshot);
    db.close();
    const restored = new Database(snapshot);
    assert.ok(new KeyStore(restored).get('example.test.', sha)?.pkcs8.equals(m.privatePkcs8));
    restored.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
