// The hub's clock as seen from this device. "Silent for 12 s" compares the
// hub's timestamps with now, so a phone whose clock is off must not make a
// live cradle look silent. The HTTP Date header gives the offset to about a
// second; fresh status events refine it.

let offsetMs = 0;
let haveDate = false;

/** @param {string | null} header an HTTP Date header */
export function noteServerDate(header) {
  if (!header) return;
  const server = Date.parse(header);
  if (Number.isNaN(server)) return;
  // The header is rounded down to the second: the hub's now is within
  // [server, server + 1000).
  const sample = server + 500 - Date.now();
  if (!haveDate || Math.abs(sample - offsetMs) > 1500) offsetMs = sample;
  haveDate = true;
}

/** A hub timestamp that was "now" when it reached us. @param {number} hubMs */
export function noteFreshHubTime(hubMs) {
  const sample = hubMs - Date.now();
  if (sample > offsetMs) offsetMs = sample;
}

/** The hub's current time in ms. */
export function hubNow() {
  return Date.now() + offsetMs;
}

/** Parses the hub's RFC 3339 (or naive UTC) time. @param {string | null | undefined} s */
export function parseTime(s) {
  if (!s) return null;
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}
