// The app's state in one place, and who wants to hear about which part of
// it. Screens read `state` and subscribe to topics; only this module, the
// event stream and the actions below change it.

import { api } from './api.js';
import { hubNow, parseTime } from './clock.js';
import { getLang } from './i18n.js';

/**
 * @typedef {import('./api.js').Agent} Agent
 * @typedef {import('./api.js').Status} Status
 * @typedef {import('./api.js').Alert} Alert
 * @typedef {import('./api.js').User} User
 * @typedef {'connecting'|'open'|'reconnecting'|'offline'} Connection
 * @typedef {Alert & {lang?: string | null, reminded?: boolean}} StoredAlert alert plus the language its
 *   message is in (null: unknown) and whether the hub reminded of it (still unresolved after 5 min)
 * @typedef {'auth'|'cradles'|'selected'|'status'|'alerts'|'connection'|'lang'|'newAlert'|'reminder'|'reconnected'|'presence'|'health'|'unread'} Topic
 *   presence: a cradle went online or offline (detail: its uuid; see presence.js);
 *   health: what the hub's `/health` said changed (see health.js);
 *   reminder: the hub reminds of an alert still unresolved (detail: the alert; once per alert);
 *   unread: the count of unread inbox notifications changed (see badge.js)
 */

/** The alert list covers this long. */
const DAY_MS = 86_400_000;

export const state = {
  /** @type {User | null} known after login; after a reload only `loggedIn` is known */
  user: /** @type {User | null} */ (null),
  loggedIn: false,
  /** @type {Agent[]} */
  cradles: [],
  /** @type {string | null} */
  selected: null,
  /** @type {Map<string, Status>} */
  statuses: new Map(),
  /** @type {Map<number, StoredAlert>} */
  alerts: new Map(),
  /** @type {Connection} */
  connection: 'connecting',
  /** true once the cradle list has been loaded at least once */
  cradlesLoaded: false,
  /** unread notifications in this account's inbox (null until the hub said) */
  unread: /** @type {number | null} */ (null),
};

/** @type {Map<Topic, Set<(detail?: any) => void>>} */
const listeners = new Map();

/**
 * @param {Topic} topic
 * @param {(detail?: any) => void} fn
 * @returns {() => void} unsubscribe
 */
export function on(topic, fn) {
  let set = listeners.get(topic);
  if (!set) {
    set = new Set();
    listeners.set(topic, set);
  }
  set.add(fn);
  return () => set.delete(fn);
}

/** @param {Topic} topic @param {any} [detail] */
export function emit(topic, detail) {
  for (const fn of [...(listeners.get(topic) ?? [])]) {
    try {
      fn(detail);
    } catch (e) {
      console.error(e);
    }
  }
}

/** @param {Connection} c */
export function setConnection(c) {
  if (state.connection === c) return;
  state.connection = c;
  emit('connection', c);
}

/** Loads the cradle list (and which one this session selected). */
export async function loadCradles() {
  const list = await api.agents();
  const before = state.selected;
  state.cradles = list;
  state.cradlesLoaded = true;
  const still = list.some((a) => a.uuid === state.selected);
  if (!still) {
    const pick = list.find((a) => a.selected) ?? list[0];
    state.selected = pick ? pick.uuid : null;
  }
  emit('cradles');
  // Only a real change: screens reload (and a form being edited is refilled) on it.
  if (state.selected !== before) emit('selected');
  return list;
}

/** Switches the cradle everything shows, and tells the hub (remembered per session). @param {string} uuid */
export async function selectCradle(uuid) {
  if (state.selected === uuid) return;
  state.selected = uuid;
  emit('selected');
  try {
    await api.selectCradle(uuid);
  } catch (e) {
    console.warn('select_cradle failed', e);
  }
}

/** @param {string} uuid @param {Status} status */
export function setStatus(uuid, status) {
  state.statuses.set(uuid, status);
  emit('status', uuid);
}

/**
 * Merges alerts into the store. Resolving is one way: an alert known to be
 * resolved is never reopened by an older copy (a list fetched before it was
 * resolved). A message already in the UI's language is kept over one in
 * another language, unless the alert changed (a resolved alert's message
 * says how it ended).
 * @param {Alert[]} list
 * @param {string | null} lang the language their messages are in, null if unknown
 * @param {boolean} [replaceAll] the list is the full 24 h list: forget others
 *   that are resolved or older than 24 h (unresolved newer ones may have been
 *   raised after the list was read)
 */
export function mergeAlerts(list, lang, replaceAll = false) {
  if (replaceAll) {
    const ids = new Set(list.map((a) => a.id));
    const dayAgo = hubNow() - DAY_MS;
    for (const [id, a] of state.alerts) {
      if (ids.has(id)) continue;
      if (a.resolved || (parseTime(a.created_at) ?? 0) < dayAgo) state.alerts.delete(id);
    }
  }
  const ui = getLang();
  for (const a of list) {
    const old = state.alerts.get(a.id);
    /** @type {StoredAlert} */
    const merged = { ...old, ...a, lang };
    if (old && old.resolved && !a.resolved) {
      // An older copy: keep what we know.
      merged.resolved = true;
      merged.resolved_at = old.resolved_at;
      merged.message = old.message;
      merged.alert_message = old.alert_message;
      merged.lang = old.lang;
    } else if (old && old.lang === ui && lang !== ui && old.resolved === a.resolved) {
      merged.message = old.message;
      merged.alert_message = old.alert_message;
      merged.lang = old.lang;
    }
    state.alerts.set(a.id, merged);
  }
  emit('alerts');
}

/** Counts snapshots, so an alert list read before the latest one is known to be older. */
let snapshots = 0;

/**
 * A snapshot of the event stream: its unresolved alerts are all there are
 * (of the last 24 h). Any other alert held as unresolved was resolved
 * elsewhere while this page was not listening, or is older than 24 h: it
 * goes (the next alert list brings a resolved one back, as resolved).
 * @param {Alert[]} unresolved
 * @param {string | null} lang
 */
export function replaceUnresolved(unresolved, lang) {
  snapshots += 1;
  const ids = new Set(unresolved.map((a) => a.id));
  for (const [id, a] of state.alerts) if (!a.resolved && !ids.has(id)) state.alerts.delete(id);
  mergeAlerts(unresolved, lang);
}

/**
 * Loads the alerts of the last 24 h (in the UI's language) into the store.
 * A list read while a snapshot arrived is read again: it may predate it.
 */
export async function reloadAlerts() {
  for (let tries = 0; ; tries += 1) {
    const seen = snapshots;
    const lang = getLang();
    const list = await api.alerts();
    if (seen !== snapshots && tries < 2) continue;
    mergeAlerts(list, lang, true);
    return;
  }
}

/**
 * The hub reminds of an alert still unresolved: marked and announced, once.
 * @param {Alert} alert
 * @param {string | null} lang the language of its message
 */
export function remindAlert(alert, lang) {
  const known = state.alerts.get(alert.id);
  if (known?.reminded) return;
  mergeAlerts([alert], lang);
  const stored = state.alerts.get(alert.id);
  if (!stored || stored.resolved) return;
  stored.reminded = true;
  emit('alerts');
  emit('reminder', stored);
}

/** Alerts newest first, unresolved before resolved. */
export function sortedAlerts() {
  return [...state.alerts.values()].sort((a, b) => {
    if (a.resolved !== b.resolved) return a.resolved ? 1 : -1;
    return (parseTime(b.created_at) ?? 0) - (parseTime(a.created_at) ?? 0);
  });
}

export function unresolvedCount() {
  let n = 0;
  for (const a of state.alerts.values()) if (!a.resolved) n += 1;
  return n;
}

/** The hub's count of unread inbox notifications (any device may have changed it). @param {number | null} n */
export function setUnread(n) {
  if (state.unread === n) return;
  state.unread = n;
  emit('unread', n);
}

/** Forget everything about the account (log out, session expired). */
export function resetAccount() {
  state.user = null;
  state.loggedIn = false;
  state.cradles = [];
  state.selected = null;
  state.statuses.clear();
  state.alerts.clear();
  state.cradlesLoaded = false;
  state.unread = null;
  emit('auth');
  emit('unread', null);
  emit('cradles');
  emit('alerts');
}
