// The installable app: registers the service worker (sw.js: the "hub
// unreachable" page, Web Push notifications) and says whether it could.
//
// Service workers, and so push, need a secure context: https://, or
// http://localhost / 127.0.0.1. On a plain http:// LAN address (the hub's
// default) the browser has none; the hub's HTTPS mode (`--tls self-signed`)
// gives one. Nothing is said about it here; the notification settings
// explain it from pwaStatus().

/**
 * - `unsupported`: this browser has no service workers;
 * - `insecure`: not a secure context (plain http:// on a LAN address): push needs HTTPS;
 * - `desktop-app`: inside the desktop app, which notifies natively;
 * - `idle`: registerServiceWorker() was not called yet;
 * - `registering`, `ready` (a worker is active), `failed` (see `error`).
 * @typedef {'unsupported'|'insecure'|'desktop-app'|'idle'|'registering'|'ready'|'failed'} WorkerState
 * @typedef {{state: WorkerState, push: boolean, installed: boolean, error: string | null}} PwaStatus
 */

/** @type {Promise<ServiceWorkerRegistration | null> | null} */
let registration = null;
/** @type {WorkerState} */
let state = 'idle';
/** @type {string | null} */
let failure = null;

/** Why no service worker can run on this page, if so. @returns {WorkerState | null} */
function blocker() {
  if ('__TAURI_INTERNALS__' in window) return 'desktop-app';
  if (!window.isSecureContext) return 'insecure';
  if (!('serviceWorker' in navigator)) return 'unsupported';
  return null;
}

/**
 * The registration once its worker is active (push subscriptions need an
 * active worker), or null if the new worker failed to install.
 * @param {ServiceWorkerRegistration} reg
 * @returns {Promise<ServiceWorkerRegistration | null>}
 */
function whenActive(reg) {
  if (reg.active) return Promise.resolve(reg);
  const worker = reg.installing ?? reg.waiting;
  if (!worker) return Promise.resolve(null);
  return new Promise((resolve) => {
    worker.addEventListener('statechange', () => {
      if (worker.state === 'activated') resolve(reg);
      else if (worker.state === 'redundant') resolve(reg.active ? reg : null);
    });
  });
}

/**
 * Registers `/sw.js` for the whole hub (scope `/`), once. Does nothing where
 * service workers cannot run (see pwaStatus()).
 * @returns {Promise<ServiceWorkerRegistration | null>}
 */
export function registerServiceWorker() {
  if (registration) return registration;
  const blocked = blocker();
  if (blocked) {
    state = blocked;
    registration = Promise.resolve(null);
    return registration;
  }
  state = 'registering';
  registration = navigator.serviceWorker
    // `updateViaCache: 'none'`: the browser always asks the hub whether sw.js changed.
    .register('/sw.js', { scope: '/', updateViaCache: 'none' })
    .then(whenActive)
    .then(
      (reg) => {
        state = reg ? 'ready' : 'failed';
        if (!reg) failure = 'the service worker did not install';
        return reg;
      },
      (/** @type {unknown} */ e) => {
        state = 'failed';
        failure = e instanceof Error ? e.message : String(e);
        console.warn(`Cradle Hub: the service worker was not registered: ${failure}`);
        return null;
      },
    );
  return registration;
}

/**
 * The service worker's registration with an active worker (for
 * `pushManager.subscribe`), or null where there is none.
 * @returns {Promise<ServiceWorkerRegistration | null>}
 */
export function swRegistration() {
  return registration ?? registerServiceWorker();
}

/**
 * Whether this page can have a service worker and receive pushes, and why
 * not: for the notification settings ("push needs HTTPS").
 * @returns {PwaStatus}
 */
export function pwaStatus() {
  const current = registration ? state : (blocker() ?? 'idle');
  return {
    state: current,
    push: current === 'ready' && 'PushManager' in window,
    installed: window.matchMedia('(display-mode: standalone)').matches,
    error: current === 'failed' ? failure : null,
  };
}
