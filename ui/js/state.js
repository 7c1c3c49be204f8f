// The app's state in one place, and who wants to hear about which part of
// it. Screens read `state` and subscribe to topics; only this module, the
// event stream and the actions below change it.

import { api } from './api.js';
import { parseTime } from './clock.js';

/**
 * @typedef {import('./api.js').Agent} Agent
 * @typedef {import('./api.js').Status} Status
 * @typedef {import('./api.js').Alert} Alert
 * @typedef {import('./api.js').User} User
 * @typedef {'connecting'|'open'|'reconnecting'|'offline'} Connection
 * @typedef {Alert & {lang?: string | null}} StoredAlert alert plus the language its message is in (null: unknown)
 * @typedef {'auth'|'cradles'|'selected'|'status'|'alerts'|'connection'|'lang'|'newAlert'|'reconnected'|'presence'} Topic
 *   presence: a cradle went online or offline (detail: its uuid; see presence.js)
 */

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
 * Merges alerts into the store.
 * @param {Alert[]} list
 * @param {string | null} lang the language their messages are in, null if unknown
 * @param {boolean} [replaceAll] the list is the full 24 h list: forget others that are resolved
 */
export function mergeAlerts(list, lang, replaceAll = false) {
  if (replaceAll) {
    const ids = new Set(list.map((a) => a.id));
    for (const [id, a] of state.alerts) if (!ids.has(id) && a.resolved) state.alerts.delete(id);
  }
  for (const a of list) {
    const old = state.alerts.get(a.id);
    /** @type {StoredAlert} */
    const merged = { ...old, ...a, lang };
    // Keep a message we already have in the right language.
    if (lang === null && old && old.lang) {
      merged.message = old.message;
      merged.alert_message = old.alert_message;
      merged.lang = old.lang;
    }
    state.alerts.set(a.id, merged);
  }
  emit('alerts');
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

/** Forget everything about the account (log out, session expired). */
export function resetAccount() {
  state.user = null;
  state.loggedIn = false;
  state.cradles = [];
  state.selected = null;
  state.statuses.clear();
  state.alerts.clear();
  state.cradlesLoaded = false;
  emit('auth');
  emit('cradles');
  emit('alerts');
}
