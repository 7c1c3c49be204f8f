// End-to-end test of the real desktop app, driven over WebDriver
// (tauri-driver + WebKitWebDriver), under Xvfb and a private D-Bus session
// with dunst logging every notification. Run by scripts/app-e2e.sh, which
// builds everything and provides DISPLAY and the session bus.
//
// Home hub: the app starts its hub in-process on free ports; the window
// shows the hub's UI; a simulated cradle is claimed over the hub's API; an
// alert raised by the hub while the window is closed (hidden: the app stays)
// shows up in dunst's log; a click on it (dunstctl) brings the window back
// with the alert open; a screenshot is saved and checked.
// Remote hub: a separately started cradle-hub; the app, pointed at it by
// CRADLE_APP_REMOTE, shows it, starts no hub, and notifies its alerts in the
// UI's language (switched to Korean by the page).
// TLS hub (--tls self-signed): with another CA's fingerprint the app refuses
// it (start page); without one, set_mode and the start page ask to confirm
// the hub's fingerprint and save it; with the QR code's fingerprint the
// window shows the hub's UI over https (WebKitGTK told to accept its
// certificate) and the app follows its events over https; after the hub
// restarts with a new server certificate (same CA) the page loads again.
// No session bus: the notification is a logged warning; app and hub go on.
// Hardening: no window.__TAURI__; the hub's page may call get_mode and
// set_language but not set_mode or decode_qr; the window refuses to
// navigate (or open windows) anywhere but the hub and the app's pages; a
// second launch exits at once and brings the running app's window back;
// the start page (shown while a remote hub does not answer) works under the
// app's CSP, which blocks inline scripts; switching modes there relaunches
// the app, and the new process is the single instance.
//
// Plain Node (>= 18): fetch for WebDriver and the hub's API, no packages.

import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, openSync, readdirSync, readlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';

const root = resolve(import.meta.dirname, '../..');
const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
const APP = join(target, 'debug', 'cradle-app');
const HUB = join(target, 'debug', 'cradle-hub');
const OUT = process.env.CRADLE_APP_E2E_OUT ?? join(target, 'app-e2e');
const TAURI_DRIVER = process.env.TAURI_DRIVER ?? 'tauri-driver';
mkdirSync(OUT, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'cradle-app-e2e-'));

const started = [];
const results = { ok: false };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log('[app-e2e]', ...a);

function start(name, cmd, args, env = {}) {
  const file = join(OUT, `${name}.log`);
  const fd = openSync(file, 'w');
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
  child.on('error', (e) => log(`${name}: ${e.message}`));
  started.push({ name, child });
  return { child, file };
}

function stop(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

// Up = /health answers. 503 is still an answering hub, only degraded: on a
// test machine whose disk is nearly full (CI's once was) every hub says so,
// and the tests here are about the app, not that disk.
const degradedSeen = new Set();
async function hubAnswers(base) {
  const res = await fetch(`${base}/health`);
  if (res.status === 503 && !degradedSeen.has(base)) {
    degradedSeen.add(base);
    log(`${base} is up but degraded:`, (await res.text()).slice(0, 300));
  }
  return res.ok || res.status === 503;
}

async function until(what, fn, timeoutMs = 30_000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
}

// --- the hub's API ----------------------------------------------------------

async function api(base, method, path, body, cookie) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text, headers: res.headers };
}

/** Registers and logs in; returns the Cookie header value. */
async function account(base, username, password) {
  const r = await api(base, 'POST', '/register', { username, password });
  if (r.status !== 201) throw new Error(`register ${username}: ${r.status} ${r.text}`);
  const l = await api(base, 'POST', '/login', { username, password });
  if (l.status !== 200) throw new Error(`login ${username}: ${l.status} ${l.text}`);
  const set = l.headers.getSetCookie().find((c) => c.startsWith('cradle_session='));
  if (!set) throw new Error('no session cookie');
  return set.split(';')[0];
}

/** A simulated cradle, claimed by the account, with a low temperature limit (alert within seconds). */
async function cradleWithAlert(base, mqttPort, uuid, cookie, name) {
  const sim = start(name, HUB, ['simulate', '--hub-url', base, '--mqtt-url', `mqtt://127.0.0.1:${mqttPort}`, '--uuid', uuid]);
  await until(`${uuid} to register`, async () => (await api(base, 'POST', '/register_cradle', { cradle_uuid: uuid }, cookie)).status === 200);
  const s = await api(base, 'POST', `/api/alert_settings/${uuid}`, { max_temperature: 30 }, cookie);
  if (s.status !== 200) throw new Error(`alert settings: ${s.status} ${s.text}`);
  return sim;
}

// --- WebDriver ---------------------------------------------------------------

class Driver {
  constructor(port) {
    this.base = `http://127.0.0.1:${port}`;
  }
  async cmd(method, path, body) {
    const res = await fetch(this.base + path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`WebDriver ${method} ${path}: ${res.status} ${JSON.stringify(json.value ?? json)}`);
    return json.value;
  }
  async newSession() {
    const v = await this.cmd('POST', '/session', {
      capabilities: { alwaysMatch: { 'tauri:options': { application: APP } } },
    });
    this.id = v.sessionId;
    return v;
  }
  s(path) {
    return `/session/${this.id}${path}`;
  }
  url() {
    return this.cmd('GET', this.s('/url'));
  }
  exec(script, args = []) {
    return this.cmd('POST', this.s('/execute/sync'), { script, args });
  }
  execAsync(script, args = []) {
    return this.cmd('POST', this.s('/execute/async'), { script, args });
  }
  screenshot() {
    return this.cmd('GET', this.s('/screenshot'));
  }
  addCookie(cookie) {
    return this.cmd('POST', this.s('/cookie'), { cookie });
  }
  refresh() {
    return this.cmd('POST', this.s('/refresh'), {});
  }
  async close() {
    if (this.id) await this.cmd('DELETE', this.s('')).catch((e) => log(`closing session: ${e.message}`));
    this.id = undefined;
  }
}

async function startDriver(name, env) {
  const port = await freePort();
  const nativePort = await freePort();
  const drv = start(name, TAURI_DRIVER, ['--port', String(port), '--native-port', String(nativePort)], env);
  const d = new Driver(port);
  await until('tauri-driver', async () => (await fetch(`${d.base}/status`)).ok, 15_000);
  return { d, drv };
}

/** Until the window shows `prefix...` and the page finished loading; returns ms since `t0`. */
async function waitForPage(d, prefix, t0) {
  let seen = '';
  await until(`the window to show ${prefix}`, async () => {
    const url = await d.url();
    if (url !== seen) log(`window URL: ${(seen = url)}`);
    if (!url.startsWith(prefix)) return false;
    return (await d.exec('return document.readyState')) === 'complete';
  }, 60_000, 50);
  return Date.now() - t0;
}

/** The app process under `driverPid` (tauri-driver → WebKitWebDriver → app). */
function appPid(driverPid) {
  return descendants(driverPid).find((p) => exeOf(p) === APP);
}

function nameHasOwner(name) {
  try {
    const out = execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
      'org.freedesktop.DBus.NameHasOwner', `string:${name}`], { encoding: 'utf8' });
    return out.includes('boolean true');
  } catch {
    return false;
  }
}

/** Ends a phase: the session, the driver, and the app (which otherwise stays in the tray). */
async function endApp(d, drv) {
  const pid = appPid(drv.child.pid);
  await d.close();
  stop(drv.child);
  // Also when the app was not found: the next phase's app must not find
  // this one's single-instance name still held (it would hand over to it).
  const released = () => until('the single-instance name to be released', () => !nameHasOwner('org.cradlehub.desktop.SingleInstance'), 15_000, 100);
  if (!pid) return released();
  const gone = () => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  try {
    await until('the app to exit', gone, 5000, 100);
  } catch {
    process.kill(pid, 'SIGTERM');
    // The next phase's app would otherwise hand over to this one (single instance).
    await until('the app to exit after SIGTERM', gone, 10_000, 100);
  }
  await released();
}

/** A second launch of the app: it must hand over to the running one and exit 0 quickly. */
async function secondLaunch(name, env) {
  const t0 = Date.now();
  const second = start(name, APP, [], env);
  const code = await new Promise((res) => {
    const timer = setTimeout(() => res('still running'), 15_000);
    second.child.once('exit', (c, sig) => {
      clearTimeout(timer);
      res(sig ?? c);
    });
  });
  if (code !== 0) {
    stop(second.child);
    throw new Error(`second launch: expected exit 0, got ${code}\n${readFileSync(second.file, 'utf8').slice(-2000)}`);
  }
  const secondLog = readFileSync(second.file, 'utf8');
  if (secondLog.includes('starting the hub in-process')) throw new Error('the second launch started a hub');
  return Date.now() - t0;
}

/** Listens once on a free port and counts requests: a navigation that reached it was not refused. */
async function outsideSite() {
  const { createServer: createHttpServer } = await import('node:http');
  const site = { hits: 0 };
  const server = createHttpServer((req, res) => {
    site.hits++;
    res.end('<html><body>outside</body></html>');
  });
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  site.url = `http://127.0.0.1:${server.address().port}/`;
  site.close = () => server.close();
  return site;
}

/** The page tries to leave for `site` (a link, location, window.open); the window must stay. */
async function checkNavigationRefused(d, site, stayPrefix, logFile) {
  const before = await d.url();
  const to = JSON.stringify(site.url);
  await d.exec(`const a = document.createElement('a'); a.href = ${to}; document.body.append(a); a.click();`);
  await sleep(800);
  await d.exec(`window.location.href = ${to}`);
  await sleep(800);
  await d.exec(`try { window.open(${to} + 'popup', '_blank'); } catch {}`);
  await sleep(1200);
  const after = await d.url();
  if (!after.startsWith(stayPrefix)) throw new Error(`the window left for ${after}`);
  if (site.hits) throw new Error(`the outside site was reached ${site.hits} time(s)`);
  const refusals = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('navigation refused') || l.includes('new window refused'));
  if (!refusals.some((l) => l.includes('navigation refused'))) throw new Error('no refusal in the app log');
  if (refusals.some((l) => l.includes('popup'))) throw new Error('a refusal logged the full URL');
  log(`navigation to ${site.url} refused (stayed on ${before === after ? 'the same page' : after}):`, refusals.at(-1).trim());
}

/** Calls an app command from the page. The arguments are written into the
 * script: WebKitWebDriver's script arguments hang under a page CSP without
 * 'unsafe-eval' (the hub's). */
function invoke(d, cmd, args = {}) {
  return d.execAsync(`const done = arguments[arguments.length - 1];
window.__TAURI_INTERNALS__.invoke(${JSON.stringify(cmd)}, ${JSON.stringify(args)}).then((v) => done({ ok: v }), (e) => done({ err: String(e) }));`);
}

// --- evidence: screenshots, processes, notifications ----------------------------

function decodePng(buf) {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let off = 8;
  let w, h, depth, type;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const kind = buf.toString('ascii', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (kind === 'IHDR') [w, h, depth, type] = [data.readUInt32BE(0), data.readUInt32BE(4), data[8], data[9]];
    if (kind === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const bpp = { 2: 3, 6: 4 }[type];
  if (depth !== 8 || !bpp) throw new Error(`unsupported PNG (depth ${depth}, colour type ${type})`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = w * bpp;
  const px = Buffer.alloc(h * stride);
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? px[y * stride + x - bpp] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? px[(y - 1) * stride + x - bpp] : 0;
      let v = line[x];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[y * stride + x] = v & 0xff;
    }
  }
  return { w, h, bpp, px };
}

/** Saves the screenshot and checks it is not one flat colour. */
async function screenshot(d, name) {
  const png = Buffer.from(await d.screenshot(), 'base64');
  const file = join(OUT, `${name}.png`);
  writeFileSync(file, png);
  const { w, h, bpp, px } = decodePng(png);
  const colours = new Set();
  for (let i = 0; i < px.length; i += bpp * 7) colours.add(px.readUIntBE(i, 3));
  log(`screenshot ${file}: ${w}x${h}, ${colours.size} distinct colours (sampled)`);
  if (w < 100 || h < 100 || colours.size < 8) throw new Error(`screenshot ${name} looks blank (${colours.size} colours)`);
  return { file, w, h, colours: colours.size };
}

function children(pid) {
  const kids = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) kids.push(Number(p));
    } catch {}
  }
  return kids;
}
const descendants = (pid) => children(pid).flatMap((c) => [c, ...descendants(c)]);

function exeOf(pid) {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
}

/** The app process started under `driverPid`, and its RSS/PSS with all its children (WebKit's processes). */
function appMemory(driverPid) {
  const app = descendants(driverPid).find((p) => exeOf(p) === APP);
  if (!app) throw new Error('app process not found');
  const procs = [app, ...descendants(app)];
  let rss = 0;
  let pss = 0;
  const parts = [];
  for (const p of procs) {
    try {
      const r = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(r)?.[1] ?? 0);
      rss += kb('Rss');
      pss += kb('Pss');
      parts.push(`${exeOf(p).split('/').pop()}=${Math.round(kb('Rss') / 1024)}MB`);
    } catch {}
  }
  return { pid: app, processes: procs.length, rss_mb: Math.round(rss / 1024), pss_mb: Math.round(pss / 1024), parts };
}

const dunstLog = () => readFileSync(join(OUT, 'dunst.log'), 'utf8');

/** The X window id of the app's window with this title, and whether it is shown. */
function xWindow(title) {
  const line = windowTitles().split('\n').find((l) => l.includes(`"${title}"`));
  if (!line) return null;
  const id = line.trim().split(/\s+/)[0];
  const info = execFileSync('xwininfo', ['-id', id], { encoding: 'utf8' });
  return { id, viewable: /Map State:\s+IsViewable/.test(info) };
}

function windowTitles() {
  try {
    return execFileSync('xwininfo', ['-root', '-tree'], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

// --- the test ----------------------------------------------------------------

async function home() {
  log('== home hub');
  const http = await freePort();
  const mqtt = await freePort();
  const hubUrl = `http://127.0.0.1:${http}`;
  const env = {
    CRADLE_HUB_HTTP_ADDR: `127.0.0.1:${http}`,
    CRADLE_HUB_MQTT_ADDR: `127.0.0.1:${mqtt}`,
    CRADLE_HUB_DATA_DIR: join(tmp, 'home-hub'),
    XDG_CONFIG_HOME: join(tmp, 'home-config'),
    XDG_DATA_HOME: join(tmp, 'home-data'),
    XDG_CACHE_HOME: join(tmp, 'home-cache'),
  };
  const { d, drv } = await startDriver('app-home', env);
  const t0 = Date.now();
  await d.newSession();
  const session = Date.now() - t0;
  const loaded = await waitForPage(d, `${hubUrl}/`, t0);
  log(`window open after ${session} ms; the hub's UI loaded after ${loaded} ms`);
  results.cold_start_ms = { window_session: session, hub_page_loaded: loaded };

  const mode = await invoke(d, 'get_mode');
  log('get_mode from the hub page:', JSON.stringify(mode));
  if (!mode.ok || mode.ok.mode !== 'home' || mode.ok.title !== 'Cradle Hub — home hub') throw new Error(`get_mode: ${JSON.stringify(mode)}`);
  if (!windowTitles().includes('Cradle Hub — home hub')) log('note: window title not seen in xwininfo');
  else log('window title: Cradle Hub — home hub');
  if ((await d.exec('return typeof window.__TAURI__')) !== 'undefined') throw new Error('window.__TAURI__ is defined (withGlobalTauri)');
  // The hub is plain HTTP on the LAN: its page must not be able to repoint the app.
  for (const [cmd, args] of [['set_mode', { mode: 'remote', url: `127.0.0.1:${await freePort()}` }], ['decode_qr', {}]]) {
    const refused = await invoke(d, cmd, args);
    log(`${cmd} from the hub's page:`, JSON.stringify(refused));
    if (!refused.err || refused.err.includes('cannot reach the hub') || !/not allowed/i.test(refused.err)) throw new Error(`${cmd} was not refused to the hub's page: ${JSON.stringify(refused)}`);
  }
  const lang = await invoke(d, 'set_language', { lang: 'en' });
  if (lang.err) throw new Error(`set_language from the hub's page: ${lang.err}`);
  const site = await outsideSite();
  await checkNavigationRefused(d, site, `${hubUrl}/`, drv.file);
  site.close();

  await sleep(5000);
  results.idle_memory_home = appMemory(drv.child.pid);
  log('idle memory (app + WebKit processes, hub inside):', JSON.stringify(results.idle_memory_home));

  // The parent's account, signed in in the window
  const cookie = await account(hubUrl, 'e2e-parent', 'e2e-password-1');
  const [name, value] = cookie.split('=');
  await d.addCookie({ name, value, path: '/', httpOnly: true });
  await d.refresh();
  await waitForPage(d, `${hubUrl}/`, Date.now());

  // Close the window as a window manager does (WM_DELETE_WINDOW): it hides, the app stays.
  const win = xWindow('Cradle Hub — home hub');
  if (!win?.viewable) throw new Error('the window is not on screen');
  execFileSync('python3', [join(import.meta.dirname, 'wm_close.py'), win.id]);
  await until('the window to hide', () => xWindow('Cradle Hub — home hub')?.viewable === false, 5000);
  await sleep(1000);
  if (!appMemory(drv.child.pid).pid) throw new Error('the app is gone');
  log('window closed: hidden, the app keeps running');

  // Launched again (from the menu, say): the running app's window comes back, the second exits.
  const handOver = await secondLaunch('app-home-second', env);
  await until('the window to come back for the second launch', () => xWindow('Cradle Hub — home hub')?.viewable, 5000);
  if (!(await d.url()).startsWith(`${hubUrl}/`)) throw new Error('the first window lost its page');
  if (!readFileSync(drv.file, 'utf8').includes('launched again')) throw new Error('the running app did not log the second launch');
  log(`second launch exited 0 after ${handOver} ms; the running app's window is back`);
  results.second_launch_ms = handOver;
  execFileSync('python3', [join(import.meta.dirname, 'wm_close.py'), win.id]);
  await until('the window to hide again', () => xWindow('Cradle Hub — home hub')?.viewable === false, 5000);

  // The cradle and the alert, while the window is closed. `dunstctl action`
  // clicks by position, and dunst sorts by urgency, then age: a notice
  // already on screen (CI's disk once ran nearly full, so the app rightly said
  // "Cradle Hub needs attention") would take the click meant for the alert.
  const earlier = dunstLog().split('\n').filter((l) => l.includes('summary:')).map((l) => l.trim());
  if (earlier.length) log('notifications before the alert (dismissed so the click finds the alert):', earlier.join(' | '));
  execFileSync('dunstctl', ['close-all']);
  await cradleWithAlert(hubUrl, mqtt, 'e2e-cradle', cookie, 'sim-home');
  const line = await until('the notification in dunst\'s log', () => dunstLog().split('\n').find((l) => l.includes('High temperature — e2e-cradle')), 40_000, 250);
  log('dunst:', line.trim());
  const alerts = await api(hubUrl, 'GET', '/api/alert_logs', undefined, cookie);
  const alertId = alerts.json?.[0]?.id;
  if (!alertId) throw new Error(`no alert in /api/alert_logs: ${alerts.text}`);

  // Click (the notification's default action) → the alert in the window
  await sleep(500);
  execFileSync('dunstctl', ['action', '0']);
  const url = await until('the window to open the alert', async () => {
    const u = await d.url();
    return u.includes(`#/alerts/${alertId}`) && u;
  }, 15_000);
  log('after the click the window shows', url);
  await until('the window to be back on screen', () => xWindow('Cradle Hub — home hub')?.viewable, 5000);
  log('and is back on screen');
  await sleep(1500);
  results.screenshot_home = await screenshot(d, 'app-home');
  results.memory_home_one_cradle = appMemory(drv.child.pid);
  log('memory with one cradle streaming:', JSON.stringify(results.memory_home_one_cradle));
  await endApp(d, drv);
  const appLog = readFileSync(drv.file, 'utf8');
  const paint = /first paint: the hub's page loaded ms=(\d+)/.exec(appLog);
  if (paint) results.cold_start_ms.app_log_first_paint = Number(paint[1]);
}

async function remote() {
  log('== remote hub');
  const http = await freePort();
  const mqtt = await freePort();
  const hubUrl = `http://127.0.0.1:${http}`;
  const hub = start('remote-hub', HUB, ['--http-addr', `127.0.0.1:${http}`, '--mqtt-addr', `127.0.0.1:${mqtt}`, '--data-dir', join(tmp, 'remote-hub')]);
  await until('the remote hub', () => hubAnswers(hubUrl));
  const cookie = await account(hubUrl, 'pi-parent', 'pi-password-1');
  const env = {
    CRADLE_APP_REMOTE: hubUrl,
    CRADLE_APP_USER: 'pi-parent',
    CRADLE_APP_PASSWORD: 'pi-password-1',
    // A home hub would clash with nothing here: the app must start none.
    XDG_CONFIG_HOME: join(tmp, 'remote-config'),
    XDG_DATA_HOME: join(tmp, 'remote-data'),
    XDG_CACHE_HOME: join(tmp, 'remote-cache'),
  };
  const { d, drv } = await startDriver('app-remote', env);
  const t0 = Date.now();
  await d.newSession();
  const loaded = await waitForPage(d, `${hubUrl}/`, t0);
  log(`the remote hub's UI loaded after ${loaded} ms`);
  results.remote_page_loaded_ms = loaded;
  const mode = await invoke(d, 'get_mode');
  log('get_mode from the remote hub page:', JSON.stringify(mode));
  const title = `Cradle Hub — remote: ${hubUrl}`;
  if (!mode.ok || mode.ok.mode !== 'remote' || mode.ok.title !== title) throw new Error(`get_mode: ${JSON.stringify(mode)}`);
  const page = await d.exec('return document.title + " | " + document.body.innerText.slice(0, 200)');
  log('page:', page.replace(/\s+/g, ' '));
  if (windowTitles().includes(title)) log(`window title: ${title}`);
  // Wait until the app follows the hub's events. The page switches to Korean
  // (as the UI's language switch does: <html lang>), the app reopens the
  // stream in Korean; then an alert is raised there.
  const following = () => readFileSync(drv.file, 'utf8').split('remote: following').length - 1;
  await until('the app to follow the remote hub', () => following() >= 1, 20_000);
  await d.exec("document.documentElement.lang = 'ko'");
  await until('the app to take the UI\'s language', async () => (await invoke(d, 'get_mode')).ok?.language === 'ko', 10_000);
  await until('the stream to reopen in Korean', () => following() >= 2, 10_000);
  await cradleWithAlert(hubUrl, mqtt, 'pi-cradle', cookie, 'sim-remote');
  const line = await until('the remote alert in dunst\'s log', () => dunstLog().split('\n').find((l) => l.includes('고온 — pi-cradle')), 40_000, 250);
  log('dunst:', line.trim());
  if (!dunstLog().includes('고온 경보: ')) throw new Error('the remote alert\'s message is not in Korean');
  results.screenshot_remote = await screenshot(d, 'app-remote');
  await endApp(d, drv);
  if (readFileSync(drv.file, 'utf8').includes('starting the hub in-process')) throw new Error('remote mode started a hub');
  stop(hub.child);
}

async function tlsHub() {
  log('== a TLS hub (--tls self-signed): followed over https, its CA pinned; another CA is refused');
  const port = await freePort();
  const mqtt = await freePort();
  // From loopback the hub answers plain HTTP too: https must be asked for.
  const plainUrl = `http://127.0.0.1:${port}`;
  const httpsUrl = `https://127.0.0.1:${port}`;
  const hubArgs = ['--http-addr', `127.0.0.1:${port}`, '--mqtt-addr', `127.0.0.1:${mqtt}`,
    '--data-dir', join(tmp, 'tls-hub'), '--tls', 'self-signed'];
  const hub = start('tls-hub', HUB, hubArgs);
  await until('the TLS hub', () => hubAnswers(plainUrl));
  const info = await (await fetch(`${plainUrl}/api/hub_info`)).json();
  const fp = info.ca_sha256;
  if (info.tls !== 'self-signed' || !/^[0-9a-f]{64}$/.test(fp ?? '')) throw new Error(`hub_info of the TLS hub: ${JSON.stringify(info)}`);
  const wrong = (fp[0] === '0' ? '1' : '0') + fp.slice(1);
  await account(plainUrl, 'tls-parent', 'tls-password-1');

  // Another CA than the pinned one: refused, and the hub's page is never shown.
  const config = join(tmp, 'tls-bad-config');
  {
    const env = {
      CRADLE_APP_REMOTE: `${httpsUrl}/?ca_sha256=${wrong}`,
      XDG_CONFIG_HOME: config,
      XDG_DATA_HOME: join(tmp, 'tls-bad-data'),
      XDG_CACHE_HOME: join(tmp, 'tls-bad-cache'),
    };
    const { d, drv } = await startDriver('app-tls-mismatch', env);
    await d.newSession();
    await waitForPage(d, 'tauri://localhost', Date.now());
    const shown = await until('the start page to refuse the hub', async () => {
      const s = await d.exec(`return { form: document.getElementById('choose').classList.contains('shown'), error: document.getElementById('error').textContent }`);
      return s.form && s.error.includes('posing as the hub') && s;
    }, 30_000);
    log('start page:', shown.error.replace(/\s+/g, ' ').slice(0, 160));
    // The form: no fingerprint given → the hub's, to confirm; a wrong one → refused.
    const first = await invoke(d, 'set_mode', { mode: 'remote', url: httpsUrl });
    log('set_mode to the TLS hub without a fingerprint:', JSON.stringify(first));
    if (first.ok?.confirm?.ca_sha256 !== fp || first.ok.remote_url !== null) throw new Error(`set_mode did not ask to confirm the CA: ${JSON.stringify(first)}`);
    const bad = await invoke(d, 'set_mode', { mode: 'remote', url: `${httpsUrl}/?ca_sha256=${wrong}` });
    if (!bad.err?.includes('posing as the hub')) throw new Error(`set_mode accepted another CA: ${JSON.stringify(bad)}`);
    // The setup page's confirm step, through its buttons.
    await d.exec(`document.querySelector('input[value=remote]').checked = true; document.getElementById('url').value = ${JSON.stringify(httpsUrl)}; document.querySelector('#choose button[type=submit]').click();`);
    const shownFp = await until('the fingerprint to confirm', async () => {
      const s = await d.exec(`return { hidden: document.getElementById('pin').hidden, fp: document.getElementById('fingerprint').textContent }`);
      return !s.hidden && s.fp && s;
    }, 15_000);
    log('fingerprint shown:', shownFp.fp);
    if (shownFp.fp.replace(/:/g, '').toLowerCase() !== fp) throw new Error(`the page shows ${shownFp.fp}, the hub's CA is ${fp}`);
    await d.exec(`document.getElementById('trust').click()`);
    const appJson = join(config, 'org.cradlehub.desktop', 'app.json');
    const saved = await until('the pinned CA to be saved', () => {
      try {
        const j = JSON.parse(readFileSync(appJson, 'utf8'));
        return j.remote_ca_sha256 === fp && j;
      } catch {
        return false;
      }
    }, 15_000);
    log('saved:', JSON.stringify(saved));
    if (saved.remote_url !== httpsUrl) throw new Error(`saved address: ${saved.remote_url}`);
    // Pinned now: the same address is accepted at once, another CA still refused.
    const again = await invoke(d, 'set_mode', { mode: 'remote', url: httpsUrl });
    if (again.ok?.remote_url !== httpsUrl || again.ok.confirm) throw new Error(`set_mode with the saved pin: ${JSON.stringify(again)}`);
    if (readFileSync(drv.file, 'utf8').includes("the hub's certificate is accepted")) throw new Error('the window accepted a CA that does not match');
    await endApp(d, drv);
  }

  // The right CA (as the hub's QR code gives it): the hub's UI over https.
  const env = {
    CRADLE_APP_REMOTE: `${httpsUrl}/?ca_sha256=${fp}`,
    CRADLE_APP_USER: 'tls-parent',
    CRADLE_APP_PASSWORD: 'tls-password-1',
    XDG_CONFIG_HOME: join(tmp, 'tls-config'),
    XDG_DATA_HOME: join(tmp, 'tls-data'),
    XDG_CACHE_HOME: join(tmp, 'tls-cache'),
  };
  const { d, drv } = await startDriver('app-tls', env);
  const t0 = Date.now();
  await d.newSession();
  const loaded = await waitForPage(d, `${httpsUrl}/`, t0);
  log(`the TLS hub's UI loaded over https after ${loaded} ms`);
  results.tls_page_loaded_ms = loaded;
  const page = await d.exec('return { protocol: location.protocol, title: document.title, text: document.body.innerText.slice(0, 200) }');
  log('page:', JSON.stringify(page).replace(/\s+/g, ' '));
  if (page.protocol !== 'https:' || !page.title.includes('Cradle Hub') || !page.text.trim()) throw new Error(`not the hub's UI: ${JSON.stringify(page)}`);
  if (/certificate|TLS|SSL/i.test(page.text)) throw new Error(`a certificate error in the window: ${page.text}`);
  const mode = await invoke(d, 'get_mode');
  if (mode.ok?.mode !== 'remote' || mode.ok.remote_url !== httpsUrl) throw new Error(`get_mode from the https page: ${JSON.stringify(mode)}`);
  await until('the app to follow the TLS hub', () => readFileSync(drv.file, 'utf8').includes('remote: following'), 20_000);
  // The hub restarts (a Pi rebooted): a new server certificate from the same
  // CA. The window takes it once the app's own handshake, checked against
  // the pinned CA, presents that same certificate.
  const exited = new Promise((res) => hub.child.once('exit', res));
  stop(hub.child);
  await exited;
  const hub2 = start('tls-hub-2', HUB, hubArgs);
  await until('the TLS hub again', () => hubAnswers(plainUrl));
  // The old page is marked: until the reload replaces it, it is still
  // "complete" (a slow app once let the check read it and pass too early).
  await d.exec('window.beforeRestart = true; setTimeout(() => location.reload(), 0); return 1');
  await until("the window to go through the hub's new certificate", () => readFileSync(drv.file, 'utf8').includes('renewed its certificate'), 30_000, 250);
  const reloaded = await until("the hub's UI again, with its new certificate", async () => {
    const p = await d.exec('return { protocol: location.protocol, title: document.title, ready: document.readyState, old: window.beforeRestart === true }');
    return p.protocol === 'https:' && p.title.includes('Cradle Hub') && p.ready === 'complete' && !p.old && p;
  }, 30_000, 250);
  log('after the hub restarted:', JSON.stringify(reloaded));
  await until('the app to follow the restarted hub', () => readFileSync(drv.file, 'utf8').split('remote: following').length - 1 >= 2, 40_000);
  results.screenshot_tls = await screenshot(d, 'app-tls');
  await endApp(d, drv);
  stop(hub2.child);
}

async function setupPage() {
  log('== the start page, under the CSP (a remote hub that does not answer)');
  const deadHub = `http://127.0.0.1:${await freePort()}`;
  const env = {
    CRADLE_APP_REMOTE: deadHub,
    XDG_CONFIG_HOME: join(tmp, 'setup-config'),
    XDG_DATA_HOME: join(tmp, 'setup-data'),
    XDG_CACHE_HOME: join(tmp, 'setup-cache'),
  };
  const { d, drv } = await startDriver('app-setup', env);
  await d.newSession();
  await waitForPage(d, 'tauri://localhost', Date.now());
  // setup.js ran (a file: 'self'), talked to the app over IPC (connect-src) and showed the form.
  const shown = await until('the start page to show the error and the form', async () => {
    const s = await d.exec(`return { form: document.getElementById('choose').classList.contains('shown'), error: document.getElementById('error').textContent }`);
    return s.form && s.error.includes('cannot reach the hub') && s;
  }, 30_000);
  log('start page:', shown.error.replace(/\s+/g, ' ').slice(0, 120));
  const background = await d.exec('return getComputedStyle(document.body).backgroundColor');
  if (background !== 'rgb(29, 39, 96)') throw new Error(`setup.css not applied (background ${background})`);
  if ((await d.exec('return typeof window.__TAURI__')) !== 'undefined') throw new Error('window.__TAURI__ is defined (withGlobalTauri)');
  // The CSP blocks an inline script (and says so).
  const inline = await d.execAsync(`const done = arguments[arguments.length - 1];
    let violation = '';
    document.addEventListener('securitypolicyviolation', (e) => { violation = e.violatedDirective; });
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.head.append(s);
    setTimeout(() => done({ ran: window.__inlineRan === true, violation }), 300);`);
  log('inline script on the start page:', JSON.stringify(inline));
  if (inline.ran || !inline.violation.startsWith('script-src')) throw new Error(`the CSP let an inline script run: ${JSON.stringify(inline)}`);
  // The start page keeps set_mode and decode_qr (its own commands).
  const refused = await invoke(d, 'set_mode', { mode: 'remote', url: `127.0.0.1:${await freePort()}` });
  log('set_mode to a hub that does not answer:', JSON.stringify(refused));
  if (!refused.err?.includes('cannot reach the hub')) throw new Error(`set_mode accepted an unreachable hub: ${JSON.stringify(refused)}`);
  const qr = await d.execAsync(`const done = arguments[arguments.length - 1];
    window.__TAURI_INTERNALS__.invoke('decode_qr', new Uint8Array([1, 2, 3, 4])).then((v) => done({ ok: v }), (e) => done({ err: String(e) }));`);
  log('decode_qr of a non-image from the start page:', JSON.stringify(qr));
  if (!qr.err || /not allowed/i.test(qr.err)) throw new Error(`decode_qr: ${JSON.stringify(qr)}`);
  const site = await outsideSite();
  await checkNavigationRefused(d, site, 'tauri://localhost', drv.file);
  site.close();
  results.screenshot_setup = await screenshot(d, 'app-setup');
  await endApp(d, drv);
}

/** The app processes whose environment has `marker` (a relaunched app is nobody's child here). */
function appsWithEnv(marker) {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((p) => {
    try {
      return exeOf(p) === APP && readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(marker);
    } catch {
      return false;
    }
  });
}

async function relaunch() {
  log('== switching modes relaunches the app (the single-instance name is handed over)');
  const http = await freePort();
  const mqtt = await freePort();
  const hubUrl = `http://127.0.0.1:${http}`;
  const config = join(tmp, 'relaunch-config');
  mkdirSync(join(config, 'org.cradlehub.desktop'), { recursive: true });
  writeFileSync(join(config, 'org.cradlehub.desktop', 'app.json'), JSON.stringify({ mode: 'remote', remote_url: `http://127.0.0.1:${await freePort()}` }));
  const env = {
    CRADLE_HUB_HTTP_ADDR: `127.0.0.1:${http}`,
    CRADLE_HUB_MQTT_ADDR: `127.0.0.1:${mqtt}`,
    CRADLE_HUB_DATA_DIR: join(tmp, 'relaunch-hub'),
    XDG_CONFIG_HOME: config,
    XDG_DATA_HOME: join(tmp, 'relaunch-data'),
    XDG_CACHE_HOME: join(tmp, 'relaunch-cache'),
  };
  const { d, drv } = await startDriver('app-relaunch', env);
  await d.newSession();
  await waitForPage(d, 'tauri://localhost', Date.now());
  const first = appPid(drv.child.pid);
  const chosen = await invoke(d, 'set_mode', { mode: 'home' });
  log('set_mode home from the start page:', JSON.stringify(chosen));
  if (!chosen.ok?.restarting) throw new Error(`set_mode: ${JSON.stringify(chosen)}`);
  // The new process starts its hub once the old one is gone: had it found the old one
  // still holding the single-instance name, it would have handed over and exited.
  await until('the relaunched app\'s hub', () => hubAnswers(hubUrl), 40_000, 250);
  const marker = `XDG_CONFIG_HOME=${config}`;
  const running = appsWithEnv(marker);
  if (running.length !== 1 || running[0] === first) throw new Error(`expected one new app process, found ${JSON.stringify(running)} (first ${first})`);
  log(`relaunched as pid ${running[0]} (was ${first}); its hub answers`);
  const second = await secondLaunch('app-relaunch-second', env);
  log(`and a launch after that still hands over to it (exit 0 after ${second} ms)`);
  await d.close().catch(() => {});
  stop(drv.child);
  for (const pid of appsWithEnv(marker)) process.kill(pid, 'SIGTERM');
  await until('the relaunched app to exit', () => appsWithEnv(marker).length === 0, 10_000, 100);
}

async function noBus() {
  log('== no session bus');
  const http = await freePort();
  const mqtt = await freePort();
  const hubUrl = `http://127.0.0.1:${http}`;
  const app = start('app-nobus', APP, [], {
    DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus',
    CRADLE_HUB_HTTP_ADDR: `127.0.0.1:${http}`,
    CRADLE_HUB_MQTT_ADDR: `127.0.0.1:${mqtt}`,
    CRADLE_HUB_DATA_DIR: join(tmp, 'nobus-hub'),
    XDG_CONFIG_HOME: join(tmp, 'nobus-config'),
    XDG_DATA_HOME: join(tmp, 'nobus-data'),
    XDG_CACHE_HOME: join(tmp, 'nobus-cache'),
  });
  await until('the hub inside the app', () => hubAnswers(hubUrl), 30_000);
  const cookie = await account(hubUrl, 'nobus-parent', 'nobus-password-1');
  await cradleWithAlert(hubUrl, mqtt, 'nobus-cradle', cookie, 'sim-nobus');
  const warning = await until('the warning', () => readFileSync(app.file, 'utf8').split('\n').find((l) => l.includes('notification: not shown')), 40_000, 250);
  log('app log:', warning.trim());
  await sleep(2000);
  if (app.child.exitCode !== null || app.child.signalCode !== null) throw new Error('the app stopped');
  if (!(await hubAnswers(hubUrl))) throw new Error('the hub stopped answering');
  log('the app and its hub are still running');
  stop(app.child);
}

async function main() {
  const dunstrc = join(tmp, 'dunstrc');
  writeFileSync(dunstrc, '[global]\n    font = Monospace 8\n');
  start('dunst', 'dunst', ['-config', dunstrc, '-print']);
  await until('dunst on the session bus', () => {
    try {
      const out = execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
        'org.freedesktop.DBus.NameHasOwner', 'string:org.freedesktop.Notifications'], { encoding: 'utf8' });
      return out.includes('boolean true');
    } catch {
      return false;
    }
  }, 10_000);
  // CRADLE_APP_E2E_ONLY=setup,nobus runs some phases only (while working on them).
  const only = process.env.CRADLE_APP_E2E_ONLY?.split(',');
  for (const [name, phase] of [['home', home], ['remote', remote], ['tls', tlsHub], ['setup', setupPage], ['relaunch', relaunch], ['nobus', noBus]]) {
    if (!only || only.includes(name)) await phase();
  }
  results.ok = true;
}

try {
  await main();
  log('PASS');
} catch (e) {
  log('FAIL:', e.stack ?? e);
  for (const f of ['app-home.log', 'app-home-second.log', 'app-remote.log', 'app-tls-mismatch.log', 'app-tls.log', 'tls-hub.log', 'tls-hub-2.log', 'app-setup.log', 'app-relaunch.log', 'app-relaunch-second.log', 'app-nobus.log', 'dunst.log']) {
    const p = join(OUT, f);
    if (existsSync(p)) log(`--- last lines of ${f}\n${readFileSync(p, 'utf8').split('\n').slice(-25).join('\n')}`);
  }
} finally {
  for (const { child } of started.reverse()) stop(child);
  writeFileSync(join(OUT, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  log(`results: ${join(OUT, 'results.json')}`);
  await sleep(300);
  process.exit(results.ok ? 0 : 1);
}
