// Navigation without importing the app shell (screens use this; no cycles).

/** Goes to a route such as '#/live'; re-renders when already there. @param {string} hash */
export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}
