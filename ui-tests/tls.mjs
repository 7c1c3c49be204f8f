// Chromium trusts the hub's HTTPS once its local CA is installed, with no
// certificate error waved through (no --ignore-certificate-errors):
// `cradle-hub --tls self-signed` on a free port, its CA (fetched over plain
// HTTP from loopback) added to a scratch NSS database, and Chromium run with
// HOME pointing there, so ~/.pki/nssdb is that database. A second Chromium
// with an empty database must refuse the same page: the check checks.
//
//   CRADLE_HUB_BIN=target/debug/cradle-hub node ui-tests/tls.mjs
// Needs certutil (Debian package libnss3-tools).

import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { BIN, CHROMIUM, OUT, until, assert } from './lib.mjs';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A HOME whose ~/.pki/nssdb trusts `caFile` (or nothing). @param {string} base @param {string | null} caFile */
function scratchHome(base, caFile) {
  const home = join(base, caFile ? 'home-trusting' : 'home-empty');
  const db = join(home, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true });
  execFileSync('certutil', ['-N', '-d', `sql:${db}`, '--empty-password']);
  if (caFile) execFileSync('certutil', ['-A', '-d', `sql:${db}`, '-t', 'C,,', '-n', 'Cradle Hub local CA', '-i', caFile]);
  return home;
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'cradle-hub-tls-'));
  /** @type {import('node:child_process').ChildProcess | null} */
  let hub = null;
  /** @type {import('playwright-core').Browser[]} */
  const browsers = [];
  try {
    let out = '';
    let log = '';
    let exited = false;
    hub = spawn(
      BIN,
      ['--tls', 'self-signed', '--http-addr', '127.0.0.1:0', '--mqtt-addr', '127.0.0.1:0', '--data-dir', join(work, 'data')],
      { env: { ...process.env, NO_COLOR: '1', RUST_LOG: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    hub.stdout?.on('data', (d) => ((out += d), (log += d)));
    hub.stderr?.on('data', (d) => (log += d));
    hub.on('exit', () => (exited = true));
    const m = await until('the hub URL on stdout', () => /is running: http:\/\/127\.0\.0\.1:(\d+)/.exec(out) || (exited && 'exit'), 60_000);
    if (m === 'exit') throw new Error(`hub exited:\n${log.slice(-2000)}`);
    const port = m[1];

    // Plain HTTP from loopback is served, not redirected.
    const res = await fetch(`http://127.0.0.1:${port}/ca.crt`, { redirect: 'manual' });
    assert(res.status === 200, `GET /ca.crt over plain HTTP from loopback: ${res.status}`);
    const pem = await res.text();
    assert(pem.startsWith('-----BEGIN CERTIFICATE-----'), 'a PEM certificate');
    const caFile = join(work, 'ca.crt');
    writeFileSync(caFile, pem);
    const info = await (await fetch(`http://127.0.0.1:${port}/api/hub_info`)).json();
    assert(info.tls === 'self-signed' && /^[0-9a-f]{64}$/.test(info.ca_sha256), `hub_info: ${JSON.stringify(info)}`);

    // Trusted: no certificate error, a secure context, the install page.
    const trusting = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, env: { ...process.env, HOME: scratchHome(work, caFile) } });
    browsers.push(trusting);
    const page = await trusting.newPage({ locale: 'en-US', viewport: { width: 420, height: 900 } });
    for (const host of ['127.0.0.1', 'localhost']) {
      const r = await page.goto(`https://${host}:${port}/ca`);
      assert(r?.status() === 200, `https://${host}:${port}/ca loads (${r?.status()})`);
      assert(await page.evaluate(() => window.isSecureContext), `a secure context on ${host}`);
      const security = await r?.securityDetails();
      assert(!!security && /Cradle Hub/.test(security.issuer ?? ''), `issued by the local CA (${security?.issuer})`);
    }
    const shown = (await page.textContent('#ca-fingerprint')) ?? '';
    assert(shown.replaceAll(':', '').toLowerCase() === info.ca_sha256, `the page shows the CA fingerprint (${shown})`);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'tls-ca-page-en.png'), fullPage: true });
    await page.goto(`https://localhost:${port}/ca?lang=ko`);
    assert(((await page.textContent('h1')) ?? '').includes('인증서'), 'the Korean page');
    await page.screenshot({ path: join(OUT, 'tls-ca-page-ko.png'), fullPage: true });
    // The UI itself over HTTPS: its module scripts load (CSP and all).
    await page.goto(`https://localhost:${port}/`);
    await page.waitForFunction(() => !document.querySelector('#main .boot'), undefined, { timeout: 15_000 });
    // HTTP/2 over TLS, and a same-origin POST is not taken for a cross-site one.
    const proto = await page.evaluate(() => /** @type {PerformanceNavigationTiming} */ (performance.getEntriesByType('navigation')[0]).nextHopProtocol);
    assert(proto === 'h2', `HTTP/2 over TLS (${proto})`);
    const status = await page.evaluate(async () => {
      const r = await fetch('/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'nobody', password: 'wrong-password' }) });
      return r.status;
    });
    assert(status === 401, `POST /login over HTTPS reaches the handler (${status})`);
    // Signed in over HTTPS (through the login form, as a parent does), the
    // settings screen offers the https address and the CA page.
    const registered = await page.evaluate(async () => {
      const body = JSON.stringify({ username: 'tls-parent', password: 'pass-word' });
      return (await fetch('/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status;
    });
    assert(registered === 201, `registered over HTTPS (${registered})`);
    await page.waitForSelector('input[name=username]');
    await page.fill('input[name=username]', 'tls-parent');
    await page.fill('input[name=password]', 'pass-word');
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-action=add-cradle]', { timeout: 15_000 });
    await page.goto(`https://localhost:${port}/#/settings`);
    await page.waitForSelector('[data-testid=hub-ca-link]', { timeout: 15_000 });
    const addresses = await page.$$eval('.hub .urls a.mono', (links) => links.map((a) => a.getAttribute('href') ?? ''));
    assert(addresses.length > 0 && addresses.every((u) => u.startsWith('https://')), `settings shows https addresses (${addresses.join(', ')})`);
    await page.screenshot({ path: join(OUT, 'tls-settings-hub-card.png'), fullPage: true });
    console.log('ok - Chromium with the CA in its NSS database: HTTPS without certificate errors');

    // Not trusted: the same URL is refused.
    const empty = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, env: { ...process.env, HOME: scratchHome(work, null) } });
    browsers.push(empty);
    const other = await empty.newPage();
    const refused = await other.goto(`https://localhost:${port}/ca`).then(
      () => '',
      (/** @type {Error} */ e) => e.message,
    );
    assert(/ERR_CERT_AUTHORITY_INVALID/.test(refused), `refused without the CA (${refused || 'it loaded'})`);
    console.log('ok - Chromium without the CA refuses it (ERR_CERT_AUTHORITY_INVALID)');
    console.log('2 passed, 0 failed');
  } finally {
    for (const b of browsers) await b.close().catch(() => {});
    if (hub && hub.exitCode === null) {
      hub.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
    }
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
