// The service worker of the installed app (scope `/`): the app's own files
// are kept for when the hub cannot be reached, a page that cannot be loaded
// becomes the "hub unreachable" page instead of a browser error, and alerts
// pushed by the hub become system notifications.
//
// The network always comes first: while the hub answers, the browser gets
// exactly what the hub serves (an upgraded hub never meets an old cached
// UI), and nothing the hub answers to the API, streams or events is stored.
// The cache is only the fallback, and only of the files listed in BUILD.

const sw = /** @type {ServiceWorkerGlobalScope & typeof globalThis} */ (/** @type {unknown} */ (self));

/**
 * Written by the hub when it serves this file (hub/src/api/ui.rs): a hash of
 * the UI's files and their paths. Any change to the UI changes this file,
 * so the browser installs a new worker with a new cache and drops the old.
 * @type {{version: string, shell: string[]}}
 */
const BUILD = /* hub:build */ { version: 'unbuilt', shell: [] };

const CACHE_PREFIX = 'cradle-hub-shell-';
const CACHE = `${CACHE_PREFIX}${BUILD.version}`;
const SHELL = new Set(BUILD.shell);
const OFFLINE_PAGE = '/offline.html';
const ICON = '/icons/icon-192.png';
const BADGE = '/icons/badge-96.png';

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // `no-cache`: revalidated with the hub, never an older copy from the HTTP cache.
      await cache.addAll(BUILD.shell.map((path) => new Request(path, { cache: 'no-cache' })));
      // Safe to take over at once: pages get the network's answers either way.
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(CACHE_PREFIX) && name !== CACHE) await caches.delete(name);
      }
      // The page's request starts while the worker boots, not after.
      await sw.registration.navigationPreload?.enable();
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(navigate(event));
  } else if (SHELL.has(url.pathname)) {
    event.respondWith(shellFile(request));
  }
  // Anything else (the API, the live stream, events, media) is left to the
  // browser: straight to the hub, never through the cache.
});

/**
 * A page: the hub's answer (any status), or the "hub unreachable" page when
 * there is no answer at all.
 * @param {FetchEvent} event
 */
async function navigate(event) {
  try {
    const preloaded = await event.preloadResponse;
    if (preloaded) return preloaded;
    return await fetch(event.request);
  } catch {
    const page = await caches.match(OFFLINE_PAGE, { cacheName: CACHE });
    return (
      page ??
      new Response('Cradle Hub cannot be reached. Check that this device is on the same Wi-Fi as the hub and that the hub is running.', {
        status: 503,
        headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      })
    );
  }
}

/**
 * One of the app's own files: from the hub, or the cached copy when the
 * hub does not answer (the offline page's stylesheet and script too).
 * @param {Request} request
 */
async function shellFile(request) {
  try {
    return await fetch(request);
  } catch (error) {
    const cached = await caches.match(request, { cacheName: CACHE, ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
}

// --- Push -----------------------------------------------------------------------

/**
 * What the hub pushes for an alert (title and body already in the language
 * of the subscription).
 * @typedef {{title?: unknown, body?: unknown, alert_id?: unknown, agent_uuid?: unknown, alert_type?: unknown, url?: unknown, tag?: unknown, lang?: unknown}} AlertPush
 */

/** Shown when a push carries no readable title (a push must always show something). */
const FALLBACK = {
  en: { title: 'Cradle Hub', body: 'A cradle needs your attention.' },
  ko: { title: 'Cradle Hub', body: '요람을 확인해 주세요.' },
};

sw.addEventListener('push', (event) => {
  event.waitUntil(showAlert(readPush(event.data)));
});

/** @param {PushMessageData | null} data @returns {AlertPush} */
function readPush(data) {
  if (!data) return {};
  try {
    const json = data.json();
    return json && typeof json === 'object' ? json : {};
  } catch {
    return { body: data.text() };
  }
}

/** @param {unknown} value */
function text(value) {
  return typeof value === 'string' ? value.trim() : '';
}

/**
 * Only a page of this hub may be opened from a notification.
 * @param {unknown} value @param {string} fallback
 */
function hubUrl(value, fallback) {
  try {
    const url = new URL(text(value) || fallback, sw.location.origin);
    return url.origin === sw.location.origin ? url.href : new URL(fallback, sw.location.origin).href;
  } catch {
    return new URL(fallback, sw.location.origin).href;
  }
}

/** @param {AlertPush} push */
function showAlert(push) {
  const lang = push.lang === 'ko' ? 'ko' : 'en';
  const alertId = Number.isInteger(push.alert_id) ? Number(push.alert_id) : null;
  const tag = text(push.tag) || (alertId === null ? '' : `alert-${alertId}`);
  const title = text(push.title) || FALLBACK[lang].title;
  const body = text(push.body) || (text(push.title) ? '' : FALLBACK[lang].body);
  /** @type {NotificationOptions & {renotify?: boolean}} */
  const options = {
    body,
    lang,
    icon: ICON,
    badge: BADGE,
    data: {
      url: hubUrl(push.url, alertId === null ? '/#/alerts' : `/#/alerts/${alertId}`),
      alert_id: alertId,
      agent_uuid: text(push.agent_uuid) || null,
      alert_type: text(push.alert_type) || null,
    },
  };
  if (tag) {
    // The same alert again (a reminder) replaces its notification and rings again.
    options.tag = tag;
    options.renotify = true;
  }
  return sw.registration.showNotification(title, options);
}

sw.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data;
  const url = hubUrl(data && typeof data === 'object' ? data.url : null, '/#/alerts');
  event.waitUntil(openPage(url));
});

/**
 * Shows `url` in a window of the hub that is already open (the focused one
 * first), or in a new one.
 * @param {string} url
 */
async function openPage(url) {
  const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const win of [...windows].sort((a, b) => Number(b.focused) - Number(a.focused))) {
    try {
      const focused = await win.focus();
      if (await focused.navigate(url)) return;
    } catch {
      // Not controlled by this worker (or gone): try the next, else a new window.
    }
  }
  await sw.clients.openWindow(url);
}
