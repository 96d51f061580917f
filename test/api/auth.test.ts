/**
 * The MCIAS adapter against a real HTTPS fake: validation and its 30 s cache keyed by SHA-256,
 * login forwarding (service_name, tags, TOTP; 401 and 403 kept), MCIAS down -> 502 within the
 * timeout and recovery without restart; and the --dev static identity provider.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { McIasClient, StaticIdentityProvider, createDevAuth, createMciasAuth, tokenKey } from '../../src/api/auth.ts';
import { McnsError } from '../../src/errors.ts';
import { startMcIasFake, type McIasFake } from '../helpers/mcias-fake.ts';

const kindOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof McnsError, `expected McnsError, got ${String(err)}`);
    return err.kind;
  }
};

describe('MCIAS adapter', () => {
  let fake: McIasFake;
  before(async () => {
    fake = await startMcIasFake();
  });
  after(async () => {
    await fake.close();
    rmSync(fake.tls.dir, { recursive: true, force: true });
  });

  test('validates a token into an identity (username, account type, roles)', async () => {
    const c = new McIasClient({ serverUrl: fake.url, ca: fake.tls.ca });
    const id = await c.validate(fake.tokenFor('mcq'));
    assert.equal(id.username, 'mcq');
    assert.equal(id.accountType, 'system');
    assert.deepEqual(id.roles, []);
    const admin = await c.validate(fake.tokenFor('alice'));
    assert.deepEqual(admin.roles, ['admin']);
    assert.equal(admin.accountType, 'human');
  });

  test('an unknown token is unauthenticated (401)', async () => {
    const c = new McIasClient({ serverUrl: fake.url, ca: fake.tls.ca });
    assert.equal(await kindOf(c.validate('not-a-token')), 'unauthenticated');
    assert.equal(await kindOf(c.validate('')), 'unauthenticated');
  });

  test('the cache cuts MCIAS calls for 30 s and is keyed by SHA-256, never the token', async () => {
    let now = 1_000_000;
    const c = new McIasClient({ serverUrl: fake.url, ca: fake.tls.ca, now: () => now });
    const token = fake.tokenFor('bob');
    const before = fake.validateCalls;
    for (let i = 0; i < 20; i++) await c.validate(token);
    assert.equal(fake.validateCalls - before, 1, '20 validations, one MCIAS call');
    now += 29_000;
    await c.validate(token);
    assert.equal(fake.validateCalls - before, 1, 'still cached at 29 s');
    now += 2_000;
    await c.validate(token);
    assert.equal(fake.validateCalls - before, 2, 'asked again after 30 s');
    const keys = [...((c as unknown as { cache: Map<string, unknown> }).cache.keys())];
    assert.ok(keys.includes(tokenKey(token)));
    assert.ok(!keys.includes(token));
    assert.ok(!JSON.stringify([...((c as unknown as { cache: Map<string, unknown> }).cache.entries())]).includes(token));
  });

  test('login forwards service_name and tags and returns the token', async () => {
    const c = new McIasClient({ serverUrl: fake.url, ca: fake.tls.ca, serviceName: 'mcns', tags: ['env:test', 'node:rift'] });
    const r = await c.login({ username: 'alice', password: 'alice-pw' });
    assert.ok(r.token.length > 10);
    assert.ok(!Number.isNaN(Date.parse(r.expires_at)));
    assert.equal(fake.lastLogin?.service_name, 'mcns');
    assert.deepEqual(fake.lastLogin?.tags, ['env:test', 'node:rift']);
    assert.equal((await c.validate(r.token)).username, 'alice');
  });

  test('login: wrong password 401, TOTP required and checked, MCIAS 403 stays 403', async () => {
    const c = new McIasClient({ serverUrl: fake.url, ca: fake.tls.ca });
    assert.equal(await kindOf(c.login({ username: 'alice', password: 'nope' })), 'unauthenticated');
    assert.equal(await kindOf(c.login({ username: 'totp-user', password: 'pw' })), 'unauthenticated');
    assert.equal(await kindOf(c.login({ username: 'totp-user', password: 'pw', totp_code: '123456' })), 'ok');
    assert.equal(fake.lastLogin?.totp_code, '123456');
    assert.equal(await kindOf(c.login({ username: 'blocked', password: 'pw' })), 'forbidden');
  });

  test('logout revokes at MCIAS and drops the cached validation', async () => {
    const c = new McIasClient({ serverUrl: fake.url, ca: fake.tls.ca });
    const token = fake.tokenFor('bob');
    await c.validate(token);
    await c.logout(token);
    assert.equal(await kindOf(c.validate(token)), 'unauthenticated');
  });

  test('a server certificate from another CA is refused as upstream (502)', async () => {
    const c = new McIasClient({ serverUrl: fake.url, timeoutMs: 2000 });
    assert.equal(await kindOf(c.validate(fake.tokenFor('bob'))), 'upstream');
  });

  for (const mode of ['hang', 'drop', 'error'] as const) {
    test(`MCIAS ${mode}: 502 (upstream) within the timeout, then recovery without a new client`, async () => {
      const c = new McIasClient({ serverUrl: fake.url, ca: fake.tls.ca, timeoutMs: 400 });
      const token = fake.tokenFor('bob');
      fake.mode = mode;
      try {
        const t0 = Date.now();
        assert.equal(await kindOf(c.validate(token)), 'upstream');
        assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);
        assert.equal(await kindOf(c.login({ username: 'bob', password: 'bob-pw' })), 'upstream');
      } finally {
        fake.mode = 'up';
      }
      assert.equal((await c.validate(token)).username, 'bob');
    });
  }

  test('config errors name the key', () => {
    assert.throws(() => createMciasAuth({ serverUrl: '' }), /mcias\.server_url/);
    assert.throws(() => createMciasAuth({ serverUrl: 'http://mcias.example:8443' }), /mcias\.server_url: must be an https/);
  });
});

describe('static (--dev) identity provider', () => {
  test('accepts exactly the generated token, as an admin', async () => {
    const token = 'dev-token-0123456789abcdef';
    const p = createDevAuth({ token });
    const id = await p.validate(token);
    assert.deepEqual(id.roles, ['admin']);
    assert.equal(await kindOf(p.validate(`${token}x`)), 'unauthenticated');
    assert.equal(await kindOf(p.validate('')), 'unauthenticated');
    assert.equal(await kindOf(p.login({ username: 'a', password: 'b' })), 'unauthenticated');
  });

  test('refuses a short token', () => {
    assert.throws(() => new StaticIdentityProvider('short'), /token/);
  });
});
