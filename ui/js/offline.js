// The "hub unreachable" page (offline.html), which the service worker shows
// when a page of the hub could not be loaded. Self-contained: it must work
// from the cache, without the app's modules.

/** How often to check whether the hub answers again while the page is shown. */
const OFFLINE_POLL_MS = 5000;

/** The app's saved language (i18n.js keeps it here), else the browser's, else English. */
function offlineLang() {
  /** @type {string | null} */
  let saved = null;
  try {
    saved = localStorage.getItem('cradle-hub.lang');
  } catch {
    // Storage may be blocked (private mode).
  }
  if (saved === 'en' || saved === 'ko') return saved;
  const preferred = (navigator.languages ?? [navigator.language]).map((l) => l.slice(0, 2).toLowerCase());
  return preferred.find((l) => l === 'en' || l === 'ko') ?? 'en';
}

function showOfflinePage() {
  const lang = offlineLang();
  document.documentElement.lang = lang;
  for (const block of document.querySelectorAll('[data-lang]')) {
    if (block instanceof HTMLElement) block.hidden = block.dataset.lang !== lang;
  }
  const heading = document.querySelector(`[data-lang="${lang}"] h1`);
  if (heading) document.title = heading.textContent ?? document.title;
  // Which address this device tried: the one to check on the hub.
  for (const slot of document.querySelectorAll('[data-slot=address]')) slot.textContent = ` (${location.host})`;
  for (const button of document.querySelectorAll('[data-action=retry]')) {
    button.addEventListener('click', () => {
      button.setAttribute('aria-busy', 'true');
      location.reload();
    });
  }
}

/** Any answer from the hub (even "degraded") means it is back: load the app. */
async function reloadWhenHubAnswers() {
  if (document.visibilityState !== 'visible') return;
  try {
    await fetch('/health', { cache: 'no-store' });
  } catch {
    return;
  }
  location.reload();
}

showOfflinePage();
window.setInterval(reloadWhenHubAnswers, OFFLINE_POLL_MS);
window.addEventListener('online', reloadWhenHubAnswers);
document.addEventListener('visibilitychange', reloadWhenHubAnswers);
