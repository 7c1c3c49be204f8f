// Web Push on this device: subscribing with the hub's VAPID key through the
// app's service worker (pwa.js), telling the hub (with the UI language, the
// language pushes are worded in), and stopping. The browser holds the
// subscription; the hub holds it per account, so it is handed again to the
// hub whenever the account or the language may have changed.

import { api, ApiError } from './api.js';
import { getLang } from './i18n.js';
import { pwaStatus, swRegistration } from './pwa.js';

/**
 * Why push is on, off or impossible here.
 * @typedef {'insecure' | 'desktop-app' | 'unsupported' | 'denied' | 'no-worker' | 'off' | 'on'} PushState
 *   insecure: a plain-http address (browsers allow push on https and localhost only);
 *   desktop-app: inside the desktop app, which shows alerts natively;
 *   unsupported: no Push API (e.g. Safari on iPhone outside a Home Screen app);
 *   denied: notifications blocked for this site; no-worker: the service worker is not running
 */

/** A failure the screen explains in its own words. */
export class PushError extends Error {
  /** @param {'denied' | 'dismissed' | 'service' | 'no-worker'} reason @param {string} [detail] */
  constructor(reason, detail = '') {
    super(detail || reason);
    this.name = 'PushError';
    this.reason = reason;
  }
}

/** @returns {boolean} the browser has what push needs (before asking the worker) */
function pushApi() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

/**
 * The service worker's registration as it is now, without waiting for a
 * worker still installing: enough to read or drop a subscription (logout
 * must not hang on a slow install).
 */
async function currentRegistration() {
  if (!window.isSecureContext || !('serviceWorker' in navigator)) return null;
  return (await navigator.serviceWorker.getRegistration('/')) ?? null;
}

/**
 * @param {boolean} [wait] wait for the service worker to be active (the settings
 *   screen); otherwise the registration as it is now
 * @returns {Promise<{state: PushState, sub: PushSubscription | null}>}
 */
export async function pushStatus(wait = true) {
  if (!window.isSecureContext) return { state: 'insecure', sub: null };
  if (pwaStatus().state === 'desktop-app') return { state: 'desktop-app', sub: null };
  if (!pushApi()) return { state: 'unsupported', sub: null };
  if (Notification.permission === 'denied') return { state: 'denied', sub: null };
  const reg = wait ? await swRegistration() : await currentRegistration();
  if (!reg) return { state: 'no-worker', sub: null };
  const sub = await reg.pushManager.getSubscription();
  return { state: sub ? 'on' : 'off', sub };
}

/** @param {string} b64url @returns {Uint8Array<ArrayBuffer>} */
function bytesOf(b64url) {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(b64url.length / 4) * 4, '=');
  const raw = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i += 1) out[i] = raw.charCodeAt(i);
  return out;
}

/** @param {ArrayBuffer | null} a @param {Uint8Array} b */
function sameKey(a, b) {
  if (!a || a.byteLength !== b.length) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
}

/** @param {PushSubscription} sub */
function handToHub(sub) {
  return api.pushSubscribe(sub.toJSON(), getLang());
}

/**
 * This device's subscription under the hub's current key: the one it has if
 * it was made with that key, else a new one (the push service would refuse
 * every push to a subscription made with another key, e.g. a new hub's).
 * @param {ServiceWorkerRegistration} reg
 * @returns {Promise<PushSubscription>}
 */
async function subscribedWithHubKey(reg) {
  const key = bytesOf((await api.pushPublicKey()).public_key);
  const sub = await reg.pushManager.getSubscription();
  if (sub && sameKey(sub.options.applicationServerKey, key)) return sub;
  await sub?.unsubscribe();
  return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
}

/**
 * Turns push on for this device: asks for permission (call from a tap),
 * subscribes with the hub's key (again if the hub's key changed) and
 * registers the subscription with the hub.
 */
export async function enablePush() {
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') throw new PushError(permission === 'denied' ? 'denied' : 'dismissed');
  // Resolves once the worker is active (subscribing needs one).
  const reg = await swRegistration();
  if (!reg) throw new PushError('no-worker');
  let sub;
  try {
    sub = await subscribedWithHubKey(reg);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    // NotAllowedError: permission; AbortError and others: the browser's push service did not answer.
    if (e instanceof DOMException && e.name === 'NotAllowedError') throw new PushError('denied');
    throw new PushError('service', e instanceof Error ? e.message : '');
  }
  try {
    await handToHub(sub);
  } catch (e) {
    // The hub refused it (e.g. an endpoint it may not call): not left half on.
    await sub.unsubscribe().catch(() => false);
    throw e;
  }
}

/** Turns push off for this device: the hub forgets it, the browser drops it. */
export async function disablePush() {
  const reg = await currentRegistration();
  const sub = reg ? await reg.pushManager.getSubscription() : null;
  if (!sub) return;
  try {
    await api.pushUnsubscribe(sub.endpoint);
  } catch (e) {
    // Already forgotten (404) is fine; the hub also drops it once the push service answers 410.
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  } finally {
    await sub.unsubscribe().catch(() => false);
  }
}

/**
 * Hands this device's subscription to the hub again, if it has one: at
 * start (subscribed anew if the hub's key changed), after a login (it may
 * be another account on this device now) and after the UI language changed
 * (pushes follow it). Quiet on failure.
 */
export async function syncPush() {
  try {
    const { state } = await pushStatus(false);
    const reg = await currentRegistration();
    if (state !== 'on' || !reg) return;
    // Permission is granted already, so subscribing again (after the hub's
    // key changed) needs no tap.
    await handToHub(await subscribedWithHubKey(reg));
  } catch {
    // The settings screen shows the truth when opened.
  }
}

/** Before logging out: this device stops getting the account's pushes. Quiet on failure. */
export async function stopPushOnLogout() {
  try {
    await disablePush();
  } catch {
    // Logged out anyway; the hub drops the subscription once the push service answers 410.
  }
}
