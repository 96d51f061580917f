/**
 * The web console end to end, in a real browser: playwright-core driving Debian's chromium against
 * the real REST listener (TLS, the HTTPS MCIAS fake, a real ledger). Admin alice signs in, creates a
 * zone and records (one batch, atomically), edits one, reads the history entry (actor, old and new),
 * picks an earlier point, sees the diff, exports and restores it; a change made through the API
 * appears live; a stale batch gets "the zone changed"; user bob finds no write control and the server
 * refuses his forged write. Each test saves a screenshot (MCNS_UI_SCREENSHOTS or a temp dir).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createDevAuth } from '../../src/api/auth.ts';
import { startRest, type RestServer } from '../../src/api/rest.ts';
import { UI_CSP } from '../../src/ui/serve.ts';
import { startHarness, type Harness } from '../api/harness.ts';

const CHROMIUM = process.env.MCNS_CHROMIUM ?? '/usr/bin/chromium';
const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium)`;
if (missing && process.env.CI === 'true') throw new Error(`web console tests need chromium in CI: ${missing}`);
if (missing) console.log(`# skipping the web console tests: ${missing}`);

const SHOTS = process.env.MCNS_UI_SCREENSHOTS ?? join(tmpdir(), 'mcns-ui-screenshots');
const Z = 'web.test';

let h: Harness;
let browser: Browser;
let base: string;
let admin: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
const foreign: string[] = [];
/** Origins the pages may load from: the servers under test, nothing else. */
const origins: string[] = [];

async function shot(p: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function newPage(): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true, viewport: { width: 1280, height: 800 } });
  const p = await ctx.newPage();
  p.on('pageerror', (err) => pageErrors.push(err.message));
  p.on('console', (m) => {
    // The API's refusals the tests provoke (401, 403, 412...) are logged by the browser as failed loads: not errors of the page.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
  });
  p.on('request', (r) => {
    const u = r.url();
    if (!origins.some((o) => u.startsWith(`${o}/`)) && !u.startsWith('blob:') && !u.startsWith('data:')) foreign.push(u);
  });
  return { ctx, page: p };
}

const serial = (): number => h.ledger.state.zones.get(`${Z}.`)?.serial ?? -1;

describe('web console', { skip: missing }, () => {
  before(async () => {
    h = await startHarness();
    base = `https://127.0.0.1:${h.restPort}/ui/`;
    origins.push(`https://127.0.0.1:${h.restPort}`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    ({ ctx: admin, page } = await newPage());
  });
  after(async () => {
    await browser?.close();
    await h?.close();
    console.log(`# screenshots in ${SHOTS}`);
  });

  test('/ui/ is served by the API listener with a CSP without unsafe-inline; the page loads nothing from elsewhere', async () => {
    const r = await h.rest('GET', '/ui/');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /text\/html/);
    assert.equal(r.headers['content-security-policy'], UI_CSP);
    assert.doesNotMatch(UI_CSP, /unsafe-inline|unsafe-eval/);
    assert.doesNotMatch(r.text, /<script>|<style>| style=/, 'no inline script or style');
    await page.goto(base);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await shot(page, 'signin');
    assert.deepEqual(foreign, []);
    assert.deepEqual(pageErrors, [], 'no CSP violation or script error');
  });

  test('alice signs in with username and password (MCIAS) and the token never appears in a URL', async () => {
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: /invalid|credentials/i }).waitFor();
    await page.getByLabel('Password').fill('alice-pw');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Zones' }).waitFor();
    await page.locator('header .who', { hasText: 'alice' }).waitFor();
    const token = await page.evaluate(() => sessionStorage.getItem('mcns.token'));
    assert.ok(token && token.length > 10);
    assert.ok(!page.url().includes(token));
    assert.deepEqual(await admin.cookies(), [], 'no cookie');
    // A reload of the tab keeps the session (sessionStorage), at once after signing in too.
    await page.reload();
    await page.locator('header .who', { hasText: 'alice' }).waitFor();
    await shot(page, 'zones-empty');
  });

  test('creates a zone, adds a record, sees a validation message by the field, and applies a batch atomically', async () => {
    await page.getByText('Create a zone').click();
    await page.getByLabel('Zone name').fill(Z);
    await page.getByRole('button', { name: 'Create zone' }).click();
    await page.getByRole('link', { name: Z }).click();
    await page.getByRole('heading', { name: Z }).waitFor();

    await page.getByRole('button', { name: 'Add record' }).click();
    await page.getByLabel('Name', { exact: true }).fill('www');
    await page.getByLabel('Type', { exact: true }).selectOption('A');
    await page.getByLabel('Value', { exact: true }).fill('not-an-address');
    await page.getByRole('button', { name: 'Save' }).click();
    const valueError = page.locator('#add-value-err');
    await valueError.filter({ hasText: /\S/ }).waitFor();
    assert.match(await valueError.innerText(), /IPv4|address/i, 'the API message is shown next to Value');
    assert.equal(await page.getByLabel('Value', { exact: true }).getAttribute('aria-invalid'), 'true');
    await shot(page, 'record-validation');

    await page.getByLabel('Value', { exact: true }).fill('192.0.2.1');
    await page.getByLabel('TTL').fill('300');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('tr[data-record="www A"]').waitFor();

    const before = serial();
    for (const [name, type, value] of [['mail', 'A', '192.0.2.25'], ['@', 'MX', '10 mail'], ['@', 'TXT', '"v=spf1 mx -all"']]) {
      await page.getByRole('button', { name: 'Add record' }).click();
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByLabel('Type', { exact: true }).selectOption(type);
      await page.getByLabel('Value', { exact: true }).fill(value);
      await page.getByRole('button', { name: 'Add to batch' }).click();
    }
    await page.getByRole('heading', { name: /Change batch \(3\)/ }).waitFor();
    assert.equal(serial(), before, 'nothing written while the batch is built');
    await page.getByRole('button', { name: 'Apply batch' }).click();
    await page.locator('tr[data-record="mail A"]').waitFor();
    await page.locator('tr[data-record="@ MX"]').waitFor();
    assert.equal(serial(), before + 1, 'one batch, one serial bump');
    await shot(page, 'records');
  });

  test('edits a record and the History tab shows the entry: actor as recorded, surface, old -> new side by side', async () => {
    await page.getByRole('button', { name: 'Edit www A 192.0.2.1' }).click();
    await page.getByLabel('Value', { exact: true }).fill('192.0.2.2');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('tr[data-record="www A"] td.value', { hasText: '192.0.2.2' }).waitFor();

    await page.getByRole('tab', { name: 'History' }).click();
    const row = page.locator('tr.ev-RecordUpdated').first();
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    assert.equal(cells[1], 'alice');
    assert.equal(cells[2], 'rest', 'the console writes through the REST API');
    assert.match(cells[4], /^www\.web\.test\. A$/);
    assert.match(cells[5], /192\.0\.2\.1/);
    assert.match(cells[6], /192\.0\.2\.2/);
    // Newest first: the update is above the create of the same record.
    const seqs = await page.locator('tbody tr[data-seq]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq'))));
    assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a));
    // Filter by actor and type.
    await page.getByLabel('Type', { exact: true }).fill('MX');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForFunction(() => !document.querySelector('tr.ev-RecordUpdated') && document.querySelector('tr.ev-RecordCreated'));
    const subjects = await page.locator('tbody tr[data-seq] td:nth-child(5)').allInnerTexts();
    assert.deepEqual(subjects, ['web.test. MX']);
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.locator('tr.ev-RecordUpdated').first().waitFor();
    await shot(page, 'history');
  });

  test('time travel: picks the point before the edit, shows the diff, exports it, and restores after a confirmation', async () => {
    const entries = (await h.rest('GET', `/v1/zones/${Z}/history?order=desc&limit=100`, { token: h.tokens.alice })).body.entries;
    const edit = entries.find((e: any) => e.event === 'RecordUpdated');
    const target = entries.find((e: any) => e.seq < edit.seq).seq; // the last event before the edit's batch

    await page.getByRole('tab', { name: 'Time travel' }).click();
    const slider = page.getByLabel('Point in history');
    await slider.focus();
    await page.keyboard.press('End');
    for (let i = 0; i < 20; i++) {
      const seq = Number(await page.locator('p.point').getAttribute('data-seq'));
      if (seq <= target) break;
      await page.keyboard.press('ArrowLeft');
      await page.locator('p.point').waitFor();
    }
    assert.equal(Number(await page.locator('p.point').getAttribute('data-seq')), target);
    const changed = page.locator('[role=tabpanel] > table.diff tr.changed-since', { hasText: 'www' });
    await changed.waitFor();
    assert.match(await changed.locator('td.old').innerText(), /192\.0\.2\.1/);
    assert.match(await changed.locator('td.new').innerText(), /192\.0\.2\.2/);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export zone file' }).click()]);
    const file = readFileSync(await download.path(), 'utf8');
    assert.match(file, /www\s+300\s+IN\s+A\s+192\.0\.2\.1/);
    assert.doesNotMatch(file, /192\.0\.2\.2\b/);

    await page.getByRole('button', { name: 'Restore to this point…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    assert.match(await dialog.locator('table.diff').innerText(), /192\.0\.2\.1[\s\S]*192\.0\.2\.2/);
    await shot(page, 'restore-confirm');
    await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
    await page.getByText(new RegExp(`Restored to seq ${target}`)).waitFor();
    const www = (await h.rest('GET', `/v1/zones/${Z}/records?name=www&type=A`, { token: h.tokens.alice })).body.records;
    assert.equal(www[0].value, '192.0.2.1');

    await page.getByRole('tab', { name: 'History' }).click();
    const restored = page.locator('tbody tr', { hasText: 'restore' }).first();
    await restored.waitFor();
    assert.match(await restored.innerText(), new RegExp(`to seq ${target}`));
    await shot(page, 'history-after-restore');
  });

  test('a change made through the API appears live, and a batch built before it gets "the zone changed, reload"', async () => {
    await page.getByRole('tab', { name: 'Records' }).click();
    await page.locator('tr[data-record="www A"]').waitFor();
    await page.getByRole('button', { name: /^Delete mail A/ }).click();
    await page.getByRole('heading', { name: /Change batch \(1\)/ }).waitFor();

    const r = await h.rest('POST', `/v1/zones/${Z}/records`, { token: h.tokens['mcp-agent'], body: { name: 'live', type: 'TXT', value: '"from the API"' } });
    assert.equal(r.status, 201, r.text);
    await page.locator('tr[data-record="live TXT"]').waitFor({ timeout: 10_000 });
    await page.getByRole('status').filter({ hasText: /Live: mcp-agent created live\.web\.test\. TXT/ }).waitFor();
    await page.getByText(`serial ${r.body.batch.serial}`).or(page.getByTestId('serial').filter({ hasText: String(r.body.batch.serial) })).first().waitFor();

    await page.getByRole('button', { name: 'Apply batch' }).click();
    await page.getByRole('alert').filter({ hasText: 'The zone changed since this batch was started' }).waitFor();
    assert.ok(h.ledger.state.zones.get(`${Z}.`)?.records.size, 'still there');
    const mail = (await h.rest('GET', `/v1/zones/${Z}/records?name=mail`, { token: h.tokens.alice })).body.records;
    assert.equal(mail.length, 1, 'the stale batch did not delete anything');
    await shot(page, 'live-and-stale');
    await page.getByRole('button', { name: 'Reload' }).click();
    await page.getByRole('button', { name: 'Apply batch' }).click();
    await page.locator('tr[data-record="mail A"]').waitFor({ state: 'detached' });
  });

  test('bob (user) signs in with the keyboard alone, sees no write control, and the server refuses his forged write', async () => {
    const { ctx, page: p } = await newPage();
    await p.goto(base);
    await p.getByLabel('Username').waitFor();
    await p.keyboard.press('Tab');
    // The first Tab lands on the first field: Username.
    assert.equal(await p.evaluate(() => document.activeElement?.id), 'username');
    const outline = await p.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
    assert.notEqual(outline, 'none', 'focus is visible');
    await p.keyboard.type('bob');
    await p.keyboard.press('Tab');
    await p.keyboard.type('bob-pw');
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { name: 'Zones' }).waitFor();
    // The feed's hello has named bob and his role: what follows is the role-aware page, not the pending one.
    await p.locator('header .who', { hasText: 'bob (user)' }).waitFor();
    assert.equal(await p.getByText('Create a zone').count(), 0);
    await p.getByRole('link', { name: Z }).click();
    await p.locator('tr[data-record="www A"]').waitFor();
    for (const name of ['Add record', 'Apply batch', /^Edit /, /^Delete /]) {
      assert.equal(await p.getByRole('button', { name }).count(), 0, `no ${String(name)} button`);
    }
    // The tabs by keyboard: arrows move from Records to History to Time travel.
    await p.getByRole('tab', { name: 'Records' }).focus();
    await p.keyboard.press('ArrowRight');
    await p.getByRole('tab', { name: 'History', selected: true }).waitFor();
    await p.keyboard.press('ArrowRight');
    await p.getByRole('tab', { name: 'Time travel', selected: true }).waitFor();
    assert.equal(await p.evaluate(() => document.activeElement?.textContent), 'Time travel');
    await p.getByRole('button', { name: 'Export zone file' }).waitFor();
    assert.equal(await p.getByRole('button', { name: /Restore/ }).count(), 0);
    await p.getByRole('tab', { name: 'History' }).click();
    await p.locator('tr.ev-RecordUpdated').first().waitFor();
    await shot(p, 'user-readonly');

    const forged = await p.evaluate(async (zone) => {
      const token = sessionStorage.getItem('mcns.token');
      const res = await fetch(`/v1/zones/${zone}/records`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'forged', type: 'A', value: '192.0.2.66' }) });
      return { status: res.status, body: await res.text() };
    }, Z);
    assert.equal(forged.status, 403, forged.body);
    assert.equal((await h.rest('GET', `/v1/zones/${Z}/records?name=forged`, { token: h.tokens.alice })).body.records.length, 0);

    const logoutsBefore = h.mcias.logoutCalls;
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.equal(await p.evaluate(() => sessionStorage.getItem('mcns.token')), null);
    assert.equal(h.mcias.logoutCalls, logoutsBefore + 1, 'sign out calls /v1/auth/logout');
    await ctx.close();
  });

  test('a scoped system account (mcq) may edit only the records named after it', async () => {
    const own = await h.rest('POST', `/v1/zones/${Z}/records`, { token: h.tokens.alice, body: { name: 'mcq', type: 'A', value: '192.0.2.190' } });
    assert.equal(own.status, 201, own.text);
    const { ctx, page: p } = await newPage();
    await p.goto(base);
    await p.getByLabel('Username').fill('mcq');
    await p.getByLabel('Password').fill('mcq-pw');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.locator('header .who', { hasText: 'mcq' }).waitFor();
    await p.getByRole('link', { name: Z }).click();
    await p.locator('tr[data-record="mcq A"]').waitFor();
    assert.equal(await p.locator('tr[data-record="www A"] button').count(), 0, 'no control on a record of another name');
    await p.getByRole('button', { name: 'Edit mcq A 192.0.2.190' }).click();
    await p.getByLabel('Value', { exact: true }).fill('192.0.2.191');
    await p.getByRole('button', { name: 'Save' }).click();
    await p.locator('tr[data-record="mcq A"] td.value', { hasText: '192.0.2.191' }).waitFor();
    const hist = (await h.rest('GET', `/v1/zones/${Z}/history?order=desc&limit=3&name=mcq`, { token: h.tokens.alice })).body.entries;
    assert.equal(hist.find((e: any) => e.event === 'RecordUpdated').actor, 'mcq');
    await shot(p, 'system-account-scoped');
    await ctx.close();
  });

  test('time travel by date and time: a moment before the zone existed says so', async () => {
    await page.getByRole('tab', { name: 'Time travel' }).click();
    await page.getByLabel('Point in history').waitFor();
    const d = new Date(Date.now() - 86_400_000);
    const pad = (n: number): string => String(n).padStart(2, '0');
    const local = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    await page.getByLabel('Or a date and time').fill(local);
    await page.getByRole('button', { name: 'Show the zone then' }).click();
    await page.getByText('The zone did not exist at that point.').waitFor();
    await shot(page, 'time-travel-before-zone');
  });

  test('--dev mode: the admin token signs in (there is no MCIAS)', async () => {
    const token = 'dev-admin-token-for-the-console-test';
    let dev: RestServer | undefined;
    try {
      dev = await startRest({ ledger: h.ledger, tls: { cert: h.tls.cert, key: h.tls.key }, auth: createDevAuth({ token }), listen: '127.0.0.1:0' });
      origins.push(`https://127.0.0.1:${dev.address.port}`);
      const { ctx, page: p } = await newPage();
      await p.goto(`https://127.0.0.1:${dev.address.port}/ui/`);
      await p.getByText('Development server: sign in with the admin token').click();
      await p.getByLabel('Admin token').fill(token);
      await p.getByRole('button', { name: 'Use token' }).click();
      await p.getByRole('heading', { name: 'Zones' }).waitFor();
      await p.locator('header .who', { hasText: 'dev-admin' }).waitFor();
      await p.getByRole('link', { name: Z }).waitFor();
      await shot(p, 'dev-token');
      await ctx.close();
    } finally {
      await dev?.close();
    }
  });

  test('no script error or CSP violation in any page, and nothing loaded from another origin', async () => {
    await shot(page, 'final');
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(foreign, []);
  });
});
