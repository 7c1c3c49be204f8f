// The app shell: hash router, header and navigation, connection state,
// new-alert toasts, and what happens at start, login and logout.

import { api, ApiError, setUnauthorizedHandler } from './api.js';
import { connectEvents, disconnectEvents } from './events.js';
import { getLang, initLang, onLangChange, t } from './i18n.js';
import { h, fill, setText } from './dom.js';
import { go } from './nav.js';
import { state, on, loadCradles, resetAccount, unresolvedCount, reloadAlerts, selectCradle } from './state.js';
import { isOffline, offlineCradles, watchPresence } from './presence.js';
import { health, problemLines, watchHealth } from './health.js';
import { cradleName } from './components.js';
import { alertTitle, formatTemp } from './format.js';
import { authScreen } from './screens/auth.js';
import { welcomeScreen } from './screens/welcome.js';
import { addCradleScreen } from './screens/add-cradle.js';
import { liveScreen } from './screens/live.js';
import { alertsScreen, alertDetailScreen } from './screens/alerts.js';
import { historyScreen } from './screens/history.js';
import { settingsScreen } from './screens/settings.js';
import { unreachableScreen } from './screens/unreachable.js';
import { membersScreen } from './screens/members.js';
import { joinScreen, takePendingJoin } from './screens/join.js';
import { registerServiceWorker } from './pwa.js';
import { inboxScreen } from './screens/inbox.js';
import { notifySettingsScreen } from './screens/notify-settings.js';
import { navLabelWithCount, readAlert, showOnIcon, titleWithCount } from './badge.js';
import { stopPushOnLogout, syncPush } from './push.js';

/**
 * What every screen returns: its element, a title, and what to stop when it goes.
 * @typedef {{el: HTMLElement, title: string, destroy?: () => void}} Screen
 * @typedef {{path: string, parts: string[], query: URLSearchParams}} Route
 */

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const header = /** @type {HTMLElement} */ (document.getElementById('topbar'));
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
const toasts = /** @type {HTMLElement} */ (document.getElementById('toasts'));
const banner = /** @type {HTMLElement} */ (document.getElementById('banner'));
const healthSlot = /** @type {HTMLElement} */ (document.getElementById('health'));

/** @type {Screen | null} */
let current = null;
/** The page title without the "(2)" of unresolved alerts. */
let baseTitle = document.title;
let booted = false;
/** True while the hub could not be reached at start. */
let unreachable = false;
/**
 * True when the hub ended this device's session (signed out from another
 * device, the password changed elsewhere, expired): the login screen says
 * so until the next login.
 */
let signedOut = false;

/** @returns {Route} */
function parseRoute() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, q = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { path: parts[0] ?? '', parts, query: new URLSearchParams(q) };
}

const PUBLIC = new Set(['login', 'signup']);
const NEEDS_CRADLE = new Set(['live', 'history', 'settings', 'members']);

/** Picks the screen for the route, redirecting where the state requires it. @param {Route} r @returns {Screen | string} */
function resolve(r) {
  if (unreachable) return unreachableScreen(retryBoot);
  if (!state.loggedIn) {
    // A join link opened before signing in: sign up or log in first, then back to it.
    if (r.path === 'join') return joinScreen(r.parts[1] ?? '', false);
    return PUBLIC.has(r.path) ? authScreen(r.path === 'signup' ? 'signup' : 'login', afterLogin, signedOut && r.path !== 'signup') : '#/login';
  }
  if (PUBLIC.has(r.path) || r.path === '') return state.cradles.length ? '#/live' : '#/welcome';
  if (NEEDS_CRADLE.has(r.path) && state.cradlesLoaded && !state.cradles.length && r.path !== 'settings') {
    return '#/welcome';
  }
  switch (r.path) {
    case 'welcome':
      return state.cradles.length ? '#/live' : welcomeScreen();
    case 'add':
      return addCradleScreen();
    case 'live':
      return liveScreen();
    case 'alerts':
      if (r.parts[1]) {
        const id = Number(r.parts[1]);
        if (!Number.isInteger(id)) return '#/alerts';
        // Opened from a push, a toast or a list: read in the inbox too.
        readAlert(id);
        return alertDetailScreen(id);
      }
      return alertsScreen();
    case 'history':
      return historyScreen(r.query.get('day'));
    case 'settings':
      return settingsScreen(logout);
    case 'inbox':
      return inboxScreen(r.query);
    case 'notify':
      return notifySettingsScreen();
    case 'members':
      return membersScreen();
    case 'join':
      return joinScreen(r.parts[1] ?? '', true);
    default:
      return '#/live';
  }
}

function render() {
  if (!booted) return;
  const r = parseRoute();
  const next = resolve(r);
  if (typeof next === 'string') {
    location.replace(next);
    return;
  }
  current?.destroy?.();
  current = next;
  fill(main, next.el);
  baseTitle = `${next.title} · ${t('app.name')}`;
  document.title = baseTitle;
  document.body.dataset.route = r.path || 'home';
  renderNav(r.path);
  renderCradleOff();
  // Move focus to the new screen's heading so screen readers announce it.
  const heading = main.querySelector('h1');
  if (heading instanceof HTMLElement) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

// --- Header and navigation -------------------------------------------------

// The pill is visual; the banner below announces lost contact to screen readers.
const connPill = h('span', { class: 'conn', id: 'conn' });

// "Cradle offline" on every screen but the cradle's own (which has its banner).
const cradleOffText = h('span', {});
const cradleOff = h(
  'a',
  { class: 'cradle-off', href: '#/live', id: 'cradle-off', hidden: true },
  h('span', { class: 'cradle-off-dot', 'aria-hidden': 'true' }),
  cradleOffText,
);
cradleOff.addEventListener('click', () => {
  // Open the offline cradle (the first one, when several are).
  const uuid = cradleOff.dataset.uuid;
  if (uuid && !isOffline(state.selected)) selectCradle(uuid);
});

function renderCradleOff() {
  const list = state.loggedIn && !unreachable && state.connection === 'open' ? offlineCradles() : [];
  const show = list.length > 0 && parseRoute().path !== 'live';
  cradleOff.hidden = !show;
  header.classList.toggle('has-cradle-off', show);
  if (!show) return;
  const text = list.length === 1 ? t('presence.headerOne') : t('presence.headerMany', { n: list.length });
  setText(cradleOffText, text);
  cradleOff.setAttribute('aria-label', `${text}: ${list.map(cradleName).join(', ')}`);
  cradleOff.dataset.uuid = list[0];
}

function renderHeader() {
  fill(
    header,
    h(
      'a',
      { class: 'brand', href: '#/live', 'aria-label': t('app.name') },
      h('img', { src: 'icon.svg', alt: '', width: 28, height: 28 }),
      h('span', { class: 'brand-name' }, t('app.name')),
    ),
    cradleOff,
    connPill,
  );
  renderConnection();
  renderCradleOff();
}

function renderConnection() {
  const c = state.loggedIn ? state.connection : null;
  connPill.dataset.state = c ?? 'none';
  const label =
    c === 'open'
      ? t('conn.live')
      : c === 'connecting'
        ? t('conn.connecting')
        : c === 'reconnecting'
          ? t('conn.reconnecting')
          : c === 'offline'
            ? t('conn.offline')
            : '';
  setText(connPill, label);
  // A banner (overlaid, no layout jump) when live data has stopped.
  const problem = c === 'reconnecting' || c === 'offline';
  banner.hidden = !problem;
  if (problem) setText(banner, c === 'offline' ? t('conn.offlineLong') : t('conn.reconnectingLong'));
}

/**
 * The hub says it cannot be trusted to raise alerts (`/health` degraded):
 * a banner on every screen, one line per problem, until it is ok again.
 * Redrawn only when what it says changes (the slot is a live region).
 */
let healthShown = '';
function renderHealth() {
  const lines = health.problems.length ? problemLines() : [];
  const key = lines.length ? `${getLang()}\n${lines.join('\n')}` : '';
  if (key === healthShown) return;
  healthShown = key;
  if (!lines.length) {
    fill(healthSlot);
    return;
  }
  fill(
    healthSlot,
    h(
      'div',
      { class: 'health-banner', 'data-problems': health.problems.join('|') },
      h('span', { class: 'health-icon', 'aria-hidden': 'true' }, '!'),
      h(
        'div',
        { class: 'health-text' },
        h('p', { class: 'health-title' }, t('health.title')),
        h('ul', { class: 'health-list' }, ...lines.map((line) => h('li', {}, line))),
        h('p', { class: 'health-advice' }, t('health.advice')),
      ),
    ),
  );
}

/** @param {string} path */
function renderNav(path) {
  if (!state.loggedIn || unreachable) {
    nav.hidden = true;
    document.body.classList.remove('has-nav');
    return;
  }
  nav.hidden = false;
  nav.setAttribute('aria-label', t('nav.main'));
  document.body.classList.add('has-nav');
  /** @param {import('./i18n.js').Key} key @param {string} href @param {string} icon @param {Node | null} [extra] @param {string} [aria] */
  const item = (key, href, icon, extra = null, aria) => {
    const active = path === href.slice(2) || (href === '#/live' && ['welcome', 'add', 'members', 'join'].includes(path));
    return h(
      'a',
      {
        href,
        class: 'nav-item',
        'aria-current': active ? 'page' : null,
        'aria-label': aria ?? null,
        'data-nav': href.slice(2),
      },
      h('span', { class: `icon icon-${icon}`, 'aria-hidden': 'true' }),
      h('span', { class: 'nav-label' }, t(key)),
      extra,
    );
  };
  fill(
    nav,
    h(
      'div',
      { class: 'nav-inner' },
      item('nav.live', '#/live', 'live'),
      item('nav.alerts', '#/alerts', 'alerts', h('span', { class: 'badge', 'aria-hidden': 'true', hidden: true })),
      item('inbox.nav', '#/inbox', 'inbox', h('span', { class: 'badge', 'aria-hidden': 'true', hidden: true })),
      item('nav.history', '#/history', 'history'),
      item('nav.settings', '#/settings', 'settings'),
    ),
  );
  updateBadge();
}

/**
 * The unresolved-alerts count on the Alerts tab and the unread count on the
 * Inbox tab, updated in place (focus stays); the unread count also in the
 * title (a background tab shows it) and on the installed app's icon.
 */
function updateBadge() {
  /** @param {string} tab @param {number} count @param {string | null} aria */
  const set = (tab, count, aria) => {
    const link = nav.querySelector(`[data-nav=${tab}]`);
    const badge = link?.querySelector('.badge');
    if (!(link instanceof HTMLElement) || !(badge instanceof HTMLElement)) return;
    badge.hidden = count === 0;
    badge.dataset.count = String(count);
    setText(badge, String(count));
    if (aria) link.setAttribute('aria-label', aria);
    else link.removeAttribute('aria-label');
  };
  const open = unresolvedCount();
  set('alerts', open, open ? `${t('nav.alerts')}, ${t('alerts.unresolvedN', { n: open })}` : null);
  set('inbox', state.unread ?? 0, navLabelWithCount(t('inbox.nav')));
  document.title = titleWithCount(baseTitle);
  showOnIcon();
}

// --- New alerts --------------------------------------------------------------

/**
 * A toast for a new alert, or for one the hub reminds of. Urgent ones stay
 * until dismissed or resolved; others go after a minute. One toast per alert.
 * @param {import('./api.js').Alert} alert
 * @param {boolean} [reminder] still unresolved after 5 minutes
 */
function toastAlert(alert, reminder = false) {
  const title = alertTitle(alert.alert_type);
  const detail =
    alert.alert_type === 'high_temperature' && alert.temperature !== null ? formatTemp(alert.temperature) : '';
  const critical = !!alert.critical;
  const close = () => el.remove();
  for (const old of toasts.querySelectorAll(`.toast[data-alert-id="${alert.id}"]`)) old.remove();
  const el = h(
    'div',
    {
      class: 'toast',
      role: 'alert',
      'data-alert-id': alert.id,
      'data-type': alert.alert_type,
      'data-critical': String(critical),
      'data-reminder': String(reminder),
    },
    h('span', { class: 'icon icon-alerts', 'aria-hidden': 'true' }),
    h(
      'div',
      { class: 'toast-text' },
      critical || reminder
        ? h(
            'span',
            { class: 'tags' },
            critical ? h('span', { class: 'tag critical' }, t('alerts.critical')) : null,
            reminder ? h('span', { class: 'tag reminder' }, t('alerts.reminderToast')) : null,
          )
        : null,
      h('strong', {}, title, detail ? ` · ${detail}` : ''),
      h('span', { class: 'muted' }, alert.agent_uuid),
    ),
    h('button', { class: 'btn small', type: 'button', onclick: () => { close(); go(`#/alerts/${alert.id}`); } }, t('alerts.view')),
    h('button', { class: 'btn icon-only ghost', type: 'button', 'aria-label': t('common.dismiss'), 'data-action': 'dismiss', onclick: close }, '×'),
  );
  toasts.prepend(el);
  while (toasts.children.length > 3) toasts.lastElementChild?.remove();
  if (!critical) window.setTimeout(close, 60_000);
  // A system notification too, when the parent allowed it and is elsewhere.
  // Inside the desktop app the app itself notifies natively.
  const inDesktopApp = '__TAURI_INTERNALS__' in window;
  if (!inDesktopApp && document.hidden && 'Notification' in window && Notification.permission === 'granted') {
    try {
      const heading = reminder ? `${t('alerts.reminderToast')}: ${title}` : critical ? `${t('alerts.critical')}: ${title}` : title;
      const n = new Notification(heading, {
        body: `${detail} ${alert.agent_uuid}`.trim(),
        tag: reminder ? `alert-${alert.id}-reminder` : `alert-${alert.id}`,
        requireInteraction: critical,
      });
      n.onclick = () => {
        window.focus();
        go(`#/alerts/${alert.id}`);
      };
    } catch {
      // Some browsers allow notifications only from a service worker.
    }
  }
}

/** Toasts of alerts no longer unresolved (resolved here or elsewhere, or forgotten) go. */
function dropResolvedToasts() {
  for (const el of toasts.querySelectorAll('.toast')) {
    if (!(el instanceof HTMLElement)) continue;
    const a = state.alerts.get(Number(el.dataset.alertId));
    if (!a || a.resolved) el.remove();
  }
}

/**
 * The alerts of the last 24 h: their messages are in the language of the
 * request, and after a reconnect the resolved ones come back as resolved.
 */
let refreshTimer = 0;
function refreshAlertMessages() {
  window.clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(() => {
    reloadAlerts().catch(() => {});
  }, 300);
}

// --- Start, login, logout -------------------------------------------------------

const USER_KEY = 'cradle-hub.user';

async function afterLogin() {
  state.loggedIn = true;
  signedOut = false;
  try {
    if (state.user) localStorage.setItem(USER_KEY, JSON.stringify(state.user));
  } catch {
    // Only used to greet by name.
  }
  await loadCradles();
  connectEvents();
  refreshAlertMessages();
  // This device's push subscription, if any, now belongs to this account.
  syncPush();
  go(takePendingJoin() ?? (state.cradles.length ? '#/live' : '#/welcome'));
}

function forgetUser() {
  disconnectEvents();
  resetAccount();
  try {
    localStorage.removeItem(USER_KEY);
  } catch {
    // Nothing stored.
  }
  go('#/login');
}

async function logout() {
  signedOut = false;
  // This device stops getting the account's pushes (while the session still lets it say so).
  await stopPushOnLogout();
  try {
    await api.logout();
  } catch {
    // Logged out locally anyway.
  }
  forgetUser();
}

// The hub no longer knows this device's session (a 401 to any request,
// or the live stream's check after it closed): to the login screen, once,
// saying why.
setUnauthorizedHandler(() => {
  if (!state.loggedIn) return;
  signedOut = true;
  forgetUser();
});

/** The name of who logged in on this browser (the session cookie is HttpOnly). */
function rememberedUser() {
  try {
    const u = JSON.parse(localStorage.getItem(USER_KEY) ?? 'null');
    return u && typeof u.username === 'string' && typeof u.id === 'number' ? u : null;
  } catch {
    return null;
  }
}

let bootDelay = 1000;
async function boot() {
  try {
    await loadCradles();
    state.loggedIn = true;
    state.user = rememberedUser();
    unreachable = false;
    connectEvents();
    refreshAlertMessages();
    // Subscribed again if the hub's push key changed since this device last opened the app.
    syncPush();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      // Someone was logged in on this browser and did not log out here.
      if (rememberedUser()) {
        signedOut = true;
        try {
          localStorage.removeItem(USER_KEY);
        } catch {
          // Nothing stored.
        }
      }
      state.loggedIn = false;
      unreachable = false;
    } else {
      unreachable = true;
      window.setTimeout(retryBoot, bootDelay);
      bootDelay = Math.min(bootDelay * 2, 10_000);
    }
  }
  booted = true;
  renderHeader();
  render();
}

function retryBoot() {
  if (!unreachable) return;
  boot();
}

initLang();
renderHeader();
window.addEventListener('hashchange', render);
watchPresence();
on('connection', () => {
  renderConnection();
  renderCradleOff();
});
on('auth', () => {
  renderConnection();
  renderCradleOff();
});
on('presence', renderCradleOff);
on('health', renderHealth);
on('alerts', () => {
  updateBadge();
  dropResolvedToasts();
});
on('unread', updateBadge);
// Alerts resolved elsewhere while the stream was down: shown as resolved.
on('reconnected', refreshAlertMessages);
on('newAlert', (a) => {
  toastAlert(a);
  refreshAlertMessages();
});
on('reminder', (a) => toastAlert(a, true));
on('cradles', () => {
  renderCradleOff();
  // The last cradle was removed, or the first added elsewhere.
  const p = parseRoute().path;
  if (booted && state.loggedIn && ((p === 'welcome' && state.cradles.length) || (NEEDS_CRADLE.has(p) && p !== 'settings' && !state.cradles.length))) {
    render();
  }
});
onLangChange(() => {
  document.documentElement.lang = getLang();
  renderHeader();
  renderHealth();
  if (state.loggedIn) refreshAlertMessages();
  // Pushes are worded in the UI's language.
  if (state.loggedIn) syncPush();
  render();
});
boot();
watchHealth();
// The installed app's offline page and push notifications (where the browser allows).
registerServiceWorker();
