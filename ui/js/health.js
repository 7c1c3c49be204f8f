// Can the hub be trusted to raise alerts? The hub watches itself (ingest
// stopped while cradles are connected, writes failing, disk nearly full, a
// task stopped…) and `GET /health` (no login needed) answers 200 "ok" or
// 503 "degraded" with its `problems`. This module asks every 20 s, and at
// once when the event stream reconnects or the page comes back into view,
// and turns the answer into one plain sentence per problem.
//
// Only an answer of the hub's changes what is shown. When the hub cannot be
// reached and the live stream is down too, that is the "reconnecting"/
// "offline"/"looking for the hub" states' business and no health problem is
// shown (nothing is known); while the stream is up, the last answer stands.

import { api } from './api.js';
import { t } from './i18n.js';
import { formatBytes } from './format.js';
import { emit, on, state } from './state.js';

/**
 * @typedef {import('./api.js').DiskSpace} DiskSpace
 * @typedef {{problems: string[], disk: DiskSpace | null}} Health
 *   problems: empty when the hub said ok, or when nothing is known
 */

/** How often to ask. `?health_poll_ms=1000` in the page address overrides it (tests). */
const POLL_MS = 20_000;
/** An answer slower than this counts as none (the hub may be stuck). */
const TIMEOUT_MS = 10_000;

/** @type {Health} */
export const health = { problems: [], disk: null };

function pollMs() {
  const v = Number(new URLSearchParams(location.search).get('health_poll_ms'));
  return Number.isFinite(v) && v >= 250 ? v : POLL_MS;
}

/** @param {Health} next */
function set(next) {
  const same =
    next.problems.length === health.problems.length &&
    next.problems.every((p, i) => p === health.problems[i]) &&
    next.disk?.free_bytes === health.disk?.free_bytes;
  health.problems = next.problems;
  health.disk = next.disk;
  if (!same) emit('health');
}

let seq = 0;
/** @type {AbortController | null} */
let inFlight = null;
/** @type {number | undefined} */
let timer;

/** Asks the hub now (a newer question replaces one still waiting), then every poll interval. */
export async function checkHealth() {
  window.clearTimeout(timer);
  inFlight?.abort();
  const ctl = new AbortController();
  inFlight = ctl;
  const mine = (seq += 1);
  const giveUp = window.setTimeout(() => ctl.abort(), TIMEOUT_MS);
  /** @type {Health | null} null: no answer */
  let next = null;
  try {
    const body = await api.health(ctl.signal);
    if (body?.status === 'ok') next = { problems: [], disk: null };
    else if (body?.status === 'degraded') {
      const problems = Array.isArray(body.problems) ? body.problems.filter((p) => typeof p === 'string' && p) : [];
      const d = body.disk;
      const disk =
        d && typeof d === 'object' && Number.isFinite(d.free_bytes) && Number.isFinite(d.total_bytes) ? d : null;
      // Degraded without a reason given still is degraded ('': said generically).
      next = { problems: problems.length ? problems : [''], disk };
    }
    // Any other answer (a proxy's error page): not the hub's word, nothing known.
  } catch {
    // Not reached, too slow, or replaced by a newer question: nothing known.
  } finally {
    window.clearTimeout(giveUp);
  }
  if (mine !== seq) return;
  inFlight = null;
  // No answer while the live stream is up does not make the hub fine: what
  // it said last stands. Without the stream, the page says it lost contact.
  if (next) set(next);
  else if (state.connection !== 'open') set({ problems: [], disk: null });
  timer = window.setTimeout(checkHealth, pollMs());
}

/** A problem from `/health` in plain words (unknown ones generically). @param {string} problem @param {DiskSpace | null} disk */
export function problemText(problem, disk) {
  switch (problem) {
    case 'ingest stopped':
      return t('health.ingestStopped');
    case 'database writes failing':
      return t('health.writesFailing');
    case 'disk nearly full':
      return disk ? t('health.diskNearlyFullLeft', { left: formatBytes(disk.free_bytes) }) : t('health.diskNearlyFull');
    case 'disk full':
      return t('health.diskFull');
    case 'database unreadable':
      return t('health.dbUnreadable');
    case 'database writer stopped':
      return t('health.writerStopped');
    case 'mqtt disconnected':
    case 'mqtt stopped':
      return t('health.mqtt');
    case 'alert-ticker stopped':
      return t('health.alertTickerStopped');
    case 'motor stopped':
      return t('health.motorStopped');
    case 'maintenance stopped':
      return t('health.maintenanceStopped');
    case 'session-cleanup stopped':
      return t('health.sessionsStopped');
    case '':
      return t('health.unknown');
  }
  const task = /^(.+) stopped$/.exec(problem);
  if (task) return t('health.taskStopped', { name: task[1] });
  return t('health.other', { problem });
}

/** One sentence per problem, the same sentence once ("mqtt stopped" and "mqtt disconnected"). */
export function problemLines() {
  return [...new Set(health.problems.map((p) => problemText(p, health.disk)))];
}

let watching = false;
/** Starts asking (once, at start). */
export function watchHealth() {
  if (watching) return;
  watching = true;
  checkHealth();
  // The stream came back (the hub restarted, Wi-Fi returned) or was lost:
  // what the hub says now, not 20 s later.
  // (A reconnect is the connection turning 'open' again; 'connecting' is
  // only the first connection after start or login, asked about above.)
  on('connection', (/** @type {import('./state.js').Connection} */ c) => {
    if (c !== 'connecting') checkHealth();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) checkHealth();
  });
}
