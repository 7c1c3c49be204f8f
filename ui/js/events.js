// The one module that listens to the hub's live events (/api/events, SSE).
// All live data comes from here, never from polling. A (re)connection
// always starts with a fresh `snapshot`, so nothing needs replaying: its
// unresolved alerts replace the ones held (some may have been resolved
// elsewhere meanwhile). When the hub goes away (restart, Wi-Fi) the browser
// retries by itself; when it gives up (e.g. the hub answered 503 while
// starting) we retry with backoff, and a 401 means the session is gone.

import { api, ApiError } from './api.js';
import { noteFreshHubTime, parseTime } from './clock.js';
import { getLang } from './i18n.js';
import { state, emit, setConnection, setStatus, mergeAlerts, replaceUnresolved, remindAlert, loadCradles, setUnread } from './state.js';

/** @type {EventSource | null} */
let source = null;
/** @type {number | undefined} */
let retryTimer;
let retryDelay = 1000;
let everOpened = false;
/** True while the session should have a live stream. */
let wanted = false;

/**
 * @param {MessageEvent} ev
 * @returns {any}
 */
function data(ev) {
  try {
    return JSON.parse(ev.data);
  } catch {
    return null;
  }
}

/** @param {import('./api.js').Status} status */
function noteStatusTimes(status) {
  const t = parseTime(status.last_update);
  if (t !== null) noteFreshHubTime(t);
}

function open() {
  if (source || !wanted) return;
  if (!navigator.onLine) {
    setConnection('offline');
    return;
  }
  // Alert messages come in the language asked for (EventSource cannot send
  // Accept-Language); after a switch, the UI words them itself until the
  // next list or connection.
  const lang = getLang();
  const es = new EventSource(`/api/events?lang=${lang}`, { withCredentials: true });
  source = es;

  /** The alert an alert event carries. @param {Event} ev @returns {import('./api.js').Alert | null} */
  const alertOf = (ev) => {
    const d = data(/** @type {MessageEvent} */ (ev));
    const alert = d && (d.alert ?? d);
    return alert && typeof alert.id === 'number' ? alert : null;
  };

  es.addEventListener('snapshot', (ev) => {
    const snap = data(/** @type {MessageEvent} */ (ev));
    if (!snap) return;
    retryDelay = 1000;
    const reconnected = everOpened;
    everOpened = true;
    const known = new Set(state.cradles.map((c) => c.uuid));
    const listed = Array.isArray(snap.cradles) ? snap.cradles : [];
    for (const c of listed) setStatus(c.uuid, c.status);
    replaceUnresolved(Array.isArray(snap.unresolved_alerts) ? snap.unresolved_alerts : [], lang);
    if (typeof snap.unread_count === 'number') setUnread(snap.unread_count);
    // Snapshot after a change of cradles (added elsewhere, removed): reload the list.
    const same = listed.length === known.size && listed.every((/** @type {{uuid: string}} */ c) => known.has(c.uuid));
    if (!same || reconnected) loadCradles().catch(() => {});
    setConnection('open');
    if (reconnected) emit('reconnected');
  });

  es.addEventListener('status', (ev) => {
    const d = data(/** @type {MessageEvent} */ (ev));
    if (!d || !d.uuid || !d.status) return;
    noteStatusTimes(d.status);
    setStatus(d.uuid, d.status);
  });

  es.addEventListener('alert', (ev) => {
    const alert = alertOf(ev);
    if (!alert) return;
    mergeAlerts([alert], lang);
    emit('newAlert', alert);
  });

  es.addEventListener('alert_resolved', (ev) => {
    const alert = alertOf(ev);
    if (alert) mergeAlerts([alert], lang);
  });

  // Still unresolved after 5 minutes: announced once more (once).
  es.addEventListener('alert_reminder', (ev) => {
    const alert = alertOf(ev);
    if (alert) remindAlert(alert, lang);
  });

  // The inbox's unread count changed: a new alert, or read on any device of the account.
  es.addEventListener('unread_count', (ev) => {
    const d = data(/** @type {MessageEvent} */ (ev));
    if (d && typeof d.unread_count === 'number') setUnread(d.unread_count);
  });

  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CONNECTING) {
      // The browser retries by itself. The hub also closes the stream when
      // this device's session ends (signed out elsewhere): ask at once
      // rather than after the browser's retry and our backoff.
      setConnection(navigator.onLine ? 'reconnecting' : 'offline');
      checkSession();
      return;
    }
    // CLOSED: the browser gave up (an HTTP error such as 401 or 503).
    es.close();
    if (source === es) source = null;
    setConnection(navigator.onLine ? 'reconnecting' : 'offline');
    scheduleRetry();
  });
}

/** One question at a time: is the session still valid? (api.agents reports a 401 to the app.) */
let checking = false;
function checkSession() {
  if (checking || !wanted || !navigator.onLine) return;
  checking = true;
  api
    .agents()
    .catch(() => {
      // The hub is away (a restart): the browser's retries cover it.
    })
    .finally(() => {
      checking = false;
    });
}

function scheduleRetry() {
  if (!wanted || retryTimer !== undefined) return;
  retryTimer = window.setTimeout(async () => {
    retryTimer = undefined;
    if (!wanted) return;
    try {
      // Is the session still valid? (api.agents reports a 401 to the app.)
      await api.agents();
      open();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      retryDelay = Math.min(retryDelay * 2, 10_000);
      scheduleRetry();
    }
  }, retryDelay);
}

/**
 * Starts over with a fresh snapshot, e.g. after a cradle was added or
 * removed (the hub's stream only covers the cradles owned when it began).
 */
export function refreshEvents() {
  if (!wanted) return;
  everOpened = false;
  source?.close();
  source = null;
  open();
}

/** Starts listening (after login). */
export function connectEvents() {
  wanted = true;
  if (!source) setConnection(everOpened ? 'reconnecting' : 'connecting');
  open();
}

/** Stops listening (logout). */
export function disconnectEvents() {
  wanted = false;
  everOpened = false;
  if (retryTimer !== undefined) window.clearTimeout(retryTimer);
  retryTimer = undefined;
  source?.close();
  source = null;
  setConnection('connecting');
}

window.addEventListener('offline', () => {
  if (!wanted) return;
  source?.close();
  source = null;
  setConnection('offline');
});
window.addEventListener('online', () => {
  if (!wanted) return;
  setConnection('reconnecting');
  retryDelay = 1000;
  open();
});
