// The installable app in Chromium against a real hub (`cradle-hub --demo`
// on free ports, the UI embedded in the binary as shipped): the manifest and
// its icons, Chromium's own installability check (DevTools protocol), the
// service worker registering and controlling the page, a push shown as a
// notification, the cache holding only the app's files, and, with the hub
// stopped, the "hub unreachable" page in English and Korean.
//
//   CRADLE_HUB_BIN=target/debug/cradle-hub node ui-tests/pwa.mjs
//
// Screenshots go to ui-test-output/pwa-*.png. Exits non-zero on the first
// failure, after stopping the hub.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { BIN, CHROMIUM, OUT, until, assert, CSP_REPORTER } from './lib.mjs';

const STARTED = Date.now();

/**
 * Content-Security-Policy violations in any page (the hub allows no inline
 * script or style; the offline page comes from the cache with the hub's
 * headers): each fails the step it happened in.
 * @type {string[]}
 */
const cspViolations = [];

/** @param {import('playwright-core').BrowserContext} ctx @param {string} label */
async function watchCsp(ctx, label) {
  await ctx.addInitScript(CSP_REPORTER);
  /** @param {import('playwright-core').Page} p */
  const watch = (p) =>
    p.on('console', (m) => {
      if (/Refused to|Content Security Policy|^CSP violation/i.test(m.text())) cspViolations.push(`${label} ${p.url()}: ${m.text()}`);
    });
  ctx.pages().forEach(watch);
  ctx.on('page', watch);
}

let passed = 0;
/** @param {string} name @param {() => Promise<void>} fn */
async function step(name, fn) {
  const t0 = Date.now();
  await fn();
  await new Promise((r) => setTimeout(r, 50));
  assert(cspViolations.length === 0, `no Content-Security-Policy violations:\n${cspViolations.join('\n')}`);
  passed += 1;
  console.log(`  ok  ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

/** Width and height from a PNG's IHDR chunk. @param {Uint8Array} bytes */
function pngSize(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert(view.getUint32(0) === 0x89504e47 && view.getUint32(12) === 0x49484452, 'a PNG file');
  return `${view.getUint32(16)}x${view.getUint32(20)}`;
}

/**
 * Asks the page until `fn` (which may be async) returns a truthy value;
 * page.waitForFunction would take the promise itself for the answer.
 * @template T, A @param {import('playwright-core').Page} p @param {string} what @param {(arg: A) => T | Promise<T>} fn @param {A} arg @param {number} ms
 */
async function untilPage(p, what, fn, arg, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await p.evaluate(fn, arg);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the page is controlled by an active service worker. @param {import('playwright-core').Page} p */
async function controlled(p) {
  await untilPage(
    p,
    'an active service worker controlling the page',
    async () => {
      const reg = await navigator.serviceWorker.getRegistration('/');
      return reg?.active?.state === 'activated' && navigator.serviceWorker.controller !== null;
    },
    null,
    15_000,
  );
}

/** The notifications the worker shows, with `tag`. @param {import('playwright-core').Page} p @param {string} tag */
async function notifications(p, tag) {
  return untilPage(
    p,
    `a notification tagged ${tag}`,
    async (t) => {
      const shown = await (await navigator.serviceWorker.ready).getNotifications();
      return shown.some((n) => n.tag === t) && shown.map((n) => ({ title: n.title, body: n.body, tag: n.tag, icon: n.icon, badge: n.badge, data: n.data }));
    },
    tag,
    10_000,
  );
}

/** The "hub unreachable" page is shown, in `lang`. @param {import('playwright-core').Page} p @param {'en'|'ko'} lang */
async function offlineShown(p, lang) {
  await p.waitForSelector(`[data-testid=hub-unreachable] [data-lang=${lang}]:not([hidden]) h1`, { timeout: 10_000 });
  return p.evaluate((l) => {
    const block = document.querySelector(`[data-lang=${l}]`);
    const other = document.querySelector(`[data-lang=${l === 'en' ? 'ko' : 'en'}]`);
    const retry = block?.querySelector('button[data-action=retry]');
    return {
      title: document.title,
      lang: document.documentElement.lang,
      h1: block?.querySelector('h1')?.textContent ?? '',
      text: block instanceof HTMLElement ? block.innerText : '',
      retry: retry instanceof HTMLElement && retry.offsetParent !== null ? (retry.textContent ?? '') : null,
      otherHidden: other instanceof HTMLElement && other.hidden,
      scrollWidth: document.documentElement.scrollWidth,
    };
  }, lang);
}

/** @typedef {{proc: import('node:child_process').ChildProcess, out: string, log: string, exited: boolean}} Hub */

/**
 * Starts the hub and waits for the address it prints.
 * @param {string[]} args @returns {Promise<{hub: Hub, url: string}>}
 */
async function startHub(args) {
  const proc = spawn(BIN, args, { env: { ...process.env, NO_COLOR: '1', RUST_LOG: 'info', CRADLE_HUB_NO_MDNS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  /** @type {Hub} */
  const hub = { proc, out: '', log: '', exited: false };
  proc.stdout?.on('data', (d) => ((hub.out += d), (hub.log += d)));
  proc.stderr?.on('data', (d) => (hub.log += d));
  proc.on('exit', () => (hub.exited = true));
  const running = await until('the hub URL on stdout', () => /is running: (http:\/\/\S+)/.exec(hub.out) || (hub.exited && 'exit'), 60_000);
  if (running === 'exit') throw new Error(`hub exited:\n${hub.log.slice(-2000)}`);
  return { hub, url: running[1].replace(/\/$/, '') };
}

/** @param {Hub | null} hub */
async function stopHub(hub) {
  if (!hub || hub.exited) return;
  hub.proc.kill('SIGTERM');
  await until('the hub to exit', () => hub.exited, 10_000).catch(() => hub.proc.kill('SIGKILL'));
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'cradle-pwa-'));
  const dataDir = join(work, 'data');
  mkdirSync(OUT, { recursive: true });
  /** @type {Hub | null} */
  let hub = null;
  /** @type {import('playwright-core').BrowserContext | null} */
  let context = null;
  /** @type {import('playwright-core').Browser | null} */
  let koBrowser = null;
  try {
    const started = await startHub(['--demo', '--http-addr', '127.0.0.1:0', '--mqtt-addr', '127.0.0.1:0', '--data-dir', dataDir]);
    hub = started.hub;
    const url = started.url;
    const login = await until('the demo login on stdout', () => /Log in as\s+(\S+)\s+\/\s+(\S+)/.exec(started.hub.out), 10_000);
    console.log(`hub: ${url}`);

    /** @type {{start_url: string, scope: string, id: string, display: string, name: string, short_name: string, theme_color: string, background_color: string, icons: {src: string, sizes: string, type: string, purpose: string}[]}} */
    let manifest = /** @type {any} */ (null);

    await step('the hub serves the manifest, its icons and the service worker with the right headers', async () => {
      const m = await fetch(`${url}/manifest.webmanifest`);
      assert(m.status === 200, `manifest: ${m.status}`);
      assert(m.headers.get('content-type') === 'application/manifest+json', `manifest type: ${m.headers.get('content-type')}`);
      manifest = await m.json();
      for (const field of ['id', 'name', 'short_name', 'start_url', 'scope', 'display', 'theme_color', 'background_color']) {
        assert(typeof (/** @type {any} */ (manifest)[field]) === 'string', `manifest.${field}`);
      }
      assert(manifest.name === 'Cradle Hub' && manifest.short_name === 'Cradle Hub', 'named Cradle Hub');
      assert(manifest.display === 'standalone' && manifest.scope === '/', 'standalone, scope /');
      assert(new URL(manifest.start_url, url).hash === '#/live', `opens on the cradle screen (${manifest.start_url})`);
      const sizes = new Set();
      for (const icon of manifest.icons) {
        const r = await fetch(new URL(icon.src, `${url}/`));
        assert(r.status === 200 && r.headers.get('content-type') === icon.type, `${icon.src}: ${r.status} ${r.headers.get('content-type')}`);
        const actual = pngSize(new Uint8Array(await r.arrayBuffer()));
        assert(actual === icon.sizes, `${icon.src} is ${actual}, the manifest says ${icon.sizes}`);
        sizes.add(`${icon.sizes} ${icon.purpose}`);
      }
      for (const need of ['192x192 any', '512x512 any', '512x512 maskable']) assert(sizes.has(need), `an icon ${need}`);

      const w = await fetch(`${url}/sw.js`);
      assert(w.status === 200, `sw.js: ${w.status}`);
      assert(/^text\/javascript/.test(w.headers.get('content-type') ?? ''), `sw.js type: ${w.headers.get('content-type')}`);
      assert(w.headers.get('cache-control') === 'no-cache', `sw.js cache-control: ${w.headers.get('cache-control')}`);
      const source = await w.text();
      const build = /const BUILD = (\{"version":"[0-9a-f]{16}","shell":\[.*?\]\});/.exec(source);
      assert(build, 'the hub wrote the UI version and file list into sw.js');
      const shell = JSON.parse(build[1]).shell;
      for (const f of ['/index.html', '/offline.html', '/js/offline.js', '/js/app.js', '/css/app.css']) assert(shell.includes(f), `${f} is precached`);
    });

    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
    // A profile on disk: Chromium does not install apps from incognito contexts.
    const ctx = await chromium.launchPersistentContext(join(work, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args,
      locale: 'en-US',
      viewport: { width: 360, height: 740 },
      colorScheme: 'light',
    });
    context = ctx;
    await watchCsp(ctx, 'en');
    await ctx.grantPermissions(['notifications'], { origin: url });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(10_000);
    /** @type {string[]} */
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // A Korean phone in dark mode: navigator.language is ko-KR.
    koBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
    const koContext = await koBrowser.newContext({ locale: 'ko-KR', viewport: { width: 360, height: 740 }, colorScheme: 'dark' });
    await watchCsp(koContext, 'ko');
    const koPage = await koContext.newPage();

    await step('the page links the manifest, the worker registers and controls it, Chromium finds it installable', async () => {
      await page.goto(`${url}/`);
      const link = await page.getAttribute('link[rel=manifest]', 'href');
      assert(link === '/manifest.webmanifest', `manifest link: ${link}`);
      await controlled(page);
      const scope = await page.evaluate(async () => (await navigator.serviceWorker.getRegistration('/'))?.scope);
      assert(scope === `${url}/`, `scope is the whole hub (${scope})`);
      const status = await page.evaluate(async () => {
        const pwa = await import('/js/pwa.js');
        const reg = await pwa.swRegistration();
        return { ...pwa.pwaStatus(), active: !!reg?.active };
      });
      assert(status.state === 'ready' && status.push && status.active, `pwaStatus(): ${JSON.stringify(status)}`);

      const cdp = await page.context().newCDPSession(page);
      const app = await cdp.send('Page.getAppManifest');
      assert(app.url === `${url}/manifest.webmanifest`, `Chromium's manifest: ${app.url}`);
      assert(app.errors.length === 0, `manifest errors: ${JSON.stringify(app.errors)}`);
      // Chromium checks the icons and the worker in the background: ask until it has an answer with no errors.
      /** @type {{errorId: string}[]} */
      let errors = [];
      const end = Date.now() + 10_000;
      do {
        ({ installabilityErrors: errors } = await cdp.send('Page.getInstallabilityErrors'));
        if (!errors.length) break;
        await new Promise((r) => setTimeout(r, 250));
      } while (Date.now() < end);
      assert(errors.length === 0, `installability errors: ${JSON.stringify(errors)}`);
      await cdp.detach();

      await koPage.goto(`${url}/`);
      await controlled(koPage);
    });

    await step('the installed app opens on the cradle screen; the cache keeps only the app files', async () => {
      await page.fill('input[name=username]', login[1]);
      await page.fill('input[name=password]', login[2]);
      await page.click('button[type=submit]');
      await page.waitForSelector('body[data-route=live]', { timeout: 15_000 });
      // What the home-screen icon opens: a new window at start_url.
      const app = await ctx.newPage();
      await app.goto(new URL(manifest.start_url, `${url}/`).href, { waitUntil: 'domcontentloaded' });
      await app.waitForSelector('body[data-route=live] img.live-img', { timeout: 15_000 });
      await app.close();
      const cached = await page.evaluate(async () => {
        const urls = [];
        for (const name of await caches.keys()) {
          for (const req of await (await caches.open(name)).keys()) urls.push(`${name} ${new URL(req.url).pathname}`);
        }
        return urls;
      });
      assert(cached.some((u) => u.endsWith(' /offline.html')), `the offline page is cached: ${cached.join(', ')}`);
      const names = new Set(cached.map((u) => u.split(' ')[0]));
      assert(names.size === 1 && [...names][0].startsWith('cradle-hub-shell-'), `one cache: ${[...names].join(', ')}`);
      const apiLike = cached.filter((u) => /\s\/(api|stream|login|logout|register|health|events|crying_status)\b/.test(u));
      assert(apiLike.length === 0, `no API answers cached: ${apiLike.join(', ')}`);
    });

    await step('a push from the hub becomes a notification with its title, tag and link', async () => {
      const cdp = await ctx.newCDPSession(page);
      /** @type {string | null} */
      let registrationId = null;
      cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
        const reg = e.registrations.find((r) => r.scopeURL === `${url}/` && !r.isDeleted);
        if (reg) registrationId = reg.registrationId;
      });
      await cdp.send('ServiceWorker.enable');
      const id = await until('the worker registration over CDP', () => registrationId, 5000);
      const payload = {
        title: 'Crying detected',
        body: 'demo-cradle-1 · 02:14',
        alert_id: 4242,
        agent_uuid: 'demo-cradle-1',
        alert_type: 'crying',
        url: '/#/alerts/4242',
        tag: 'alert-4242',
        lang: 'en',
      };
      // Headless Chromium may lose the first notification of a fresh
      // browser (its display service is still starting when the page asks
      // what is shown, and it then forgets that one): one of the page's own
      // first, until the browser lists it, then the push.
      await untilPage(
        page,
        'the browser to list notifications',
        async () => {
          const reg = await navigator.serviceWorker.ready;
          await reg.showNotification('warm-up', { tag: 'warm-up', silent: true });
          const listed = await reg.getNotifications({ tag: 'warm-up' });
          for (const n of listed) n.close();
          return listed.length > 0;
        },
        null,
        10_000,
      );
      await cdp.send('ServiceWorker.deliverPushMessage', { origin: url, registrationId: id, data: JSON.stringify(payload) });
      const shown = await notifications(page, payload.tag);
      assert(shown.length === 1, `one notification: ${JSON.stringify(shown)}`);
      const n = shown[0];
      assert(n.title === payload.title && n.body === payload.body, `the payload's title and body: ${JSON.stringify(n)}`);
      assert(n.data?.url === `${url}/#/alerts/4242` && n.data?.alert_id === 4242, `opens the alert: ${JSON.stringify(n.data)}`);
      assert(n.icon === `${url}/icons/icon-192.png` && n.badge === `${url}/icons/badge-96.png`, `icon and badge: ${n.icon} ${n.badge}`);

      // A push pointing elsewhere cannot make the notification open another site.
      await cdp.send('ServiceWorker.deliverPushMessage', { origin: url, registrationId: id, data: JSON.stringify({ ...payload, tag: 'alert-4243', alert_id: 4243, url: 'https://evil.example/' }) });
      const other = (await notifications(page, 'alert-4243')).find((x) => x.tag === 'alert-4243');
      assert(other?.data?.url === `${url}/#/alerts/4243`, `a foreign link is replaced by the alert's page: ${other?.data?.url}`);
      await cdp.detach();
    });

    await step('with the hub stopped, pages show "hub unreachable" (English and Korean, 360 px) with a Retry button', async () => {
      await stopHub(hub);
      const unreachable = await fetch(`${url}/health`).then(
        () => false,
        () => true,
      );
      assert(unreachable, 'the hub no longer answers');

      await page.reload();
      const en = await offlineShown(page, 'en');
      assert(en.h1 === 'The hub cannot be reached' && en.lang === 'en' && en.otherHidden, `English page: ${JSON.stringify(en)}`);
      assert(/same Wi-Fi/.test(en.text) && /switched on and running/.test(en.text), `says what to check: ${en.text}`);
      assert(en.text.includes(new URL(url).host), `names the address tried: ${en.text}`);
      assert(en.retry === 'Try again', `a Retry button: ${en.retry}`);
      assert(en.scrollWidth <= 360, `fits 360 px (${en.scrollWidth})`);
      assert(page.url().endsWith('/#/live'), `the address stays the app's (${page.url()})`);
      await page.screenshot({ path: join(OUT, 'pwa-offline-en-light.png'), fullPage: true });

      // Retry loads the page again (still unreachable here).
      const reloaded = page.waitForEvent('load');
      await page.click('[data-lang=en] [data-action=retry]');
      await reloaded;
      await offlineShown(page, 'en');

      // A new window of the app (as the home-screen icon opens it).
      const fresh = await ctx.newPage();
      await fresh.goto(new URL(manifest.start_url, `${url}/`).href);
      await offlineShown(fresh, 'en');
      await fresh.close();

      await koPage.reload();
      const ko = await offlineShown(koPage, 'ko');
      assert(ko.h1 === '허브에 연결할 수 없습니다' && ko.lang === 'ko' && ko.otherHidden, `Korean page: ${JSON.stringify(ko)}`);
      assert(/같은 Wi-Fi/.test(ko.text) && ko.retry === '다시 시도', `Korean advice and Retry: ${ko.text}`);
      assert(ko.scrollWidth <= 360, `fits 360 px (${ko.scrollWidth})`);
      await koPage.screenshot({ path: join(OUT, 'pwa-offline-ko-dark.png'), fullPage: true });
    });

    await step('the hub is back: the "hub unreachable" page opens the app by itself', async () => {
      ({ hub } = await startHub(['--http-addr', new URL(url).host, '--mqtt-addr', '127.0.0.1:0', '--data-dir', dataDir]));
      await page.bringToFront();
      // The phone is back on the Wi-Fi (rather than waiting for the page's next check).
      await page.evaluate(() => window.dispatchEvent(new Event('online')));
      // (Not the load event: the live picture is a stream that never finishes loading.)
      await page.waitForSelector('body[data-route=live]', { timeout: 15_000 });
      assert(!(await page.$('[data-testid=hub-unreachable]')), 'the app, not the offline page');
    });

    assert(pageErrors.length === 0, `no page errors: ${pageErrors.join('\n')}`);
    console.log(`${passed} passed, 0 failed (${((Date.now() - STARTED) / 1000).toFixed(1)} s)`);
  } finally {
    await context?.close().catch(() => {});
    await koBrowser?.close().catch(() => {});
    await stopHub(hub);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`FAILED after ${passed} passed: ${e instanceof Error ? e.stack : e}`);
  process.exit(1);
});
