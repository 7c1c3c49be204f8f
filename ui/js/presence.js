// Is a cradle connected to the hub? The hub tells (`online`, `last_seen`,
// `connection` in every status); this module turns that into one answer per
// cradle, words a parent understands for why it went away, and a `presence`
// event whenever a cradle comes or goes — from status events, never polling.

import { t } from './i18n.js';
import { hubNow, parseTime } from './clock.js';
import { state, on, emit } from './state.js';

/** With an external broker the hub only knows "sent something in the last minute". */
export const ONLINE_WINDOW_MS = 60_000;

/**
 * @typedef {'online'|'offline'|'never'|'unknown'} PresenceState
 *   never: the hub has not heard from it yet; unknown: an older hub that does not say
 * @typedef {{state: PresenceState, since: number | null, lastSeen: number | null, reason: string | null}} Presence
 *   since: when it went offline (null: not known); reason: the hub's close reason, or
 *   'no_messages' when there is no connection record and nothing came for a minute
 */

/** @param {string | null | undefined} uuid @returns {Presence} */
export function presenceOf(uuid) {
  const s = uuid ? state.statuses.get(uuid) : undefined;
  const a = uuid ? state.cradles.find((c) => c.uuid === uuid) : undefined;
  const lastSeen = parseTime(s?.last_seen ?? a?.last_seen ?? s?.last_update ?? a?.last_update);
  const link = s?.connection ?? null;
  const online = typeof s?.online === 'boolean' ? s.online : typeof a?.online === 'boolean' ? a.online : null;
  if (link && (link.state === 'connected' || link.state === 'disconnected')) {
    if (link.state === 'connected') return { state: 'online', since: null, lastSeen, reason: null };
    return { state: 'offline', since: parseTime(link.since), lastSeen, reason: link.reason ?? null };
  }
  if (online === null) return { state: 'unknown', since: null, lastSeen, reason: null };
  if (lastSeen === null) return { state: online ? 'online' : 'never', since: null, lastSeen, reason: null };
  // No connection record: an external broker (or not seen since the hub
  // started). Its "online" is "sent something within a minute", which this
  // side can tell going stale without waiting for the next event.
  const quietFor = hubNow() - lastSeen;
  if (online && quietFor <= ONLINE_WINDOW_MS) return { state: 'online', since: null, lastSeen, reason: null };
  return { state: 'offline', since: null, lastSeen, reason: quietFor > ONLINE_WINDOW_MS ? 'no_messages' : null };
}

/** True when the hub says this cradle is not connected (and once was, or tried). @param {string | null | undefined} uuid */
export function isOffline(uuid) {
  return presenceOf(uuid).state === 'offline';
}

/** The account's cradles that are offline now. */
export function offlineCradles() {
  return state.cradles.filter((c) => isOffline(c.uuid)).map((c) => c.uuid);
}

/** Why the connection ended, in plain words (a full sentence). @param {string | null} reason */
export function reasonText(reason) {
  switch (reason) {
    case 'disconnect':
      return t('reason.disconnect');
    case 'keepalive_expired':
      return t('reason.keepalive_expired');
    case 'socket_closed':
      return t('reason.socket_closed');
    case 'socket_error':
      return t('reason.socket_error');
    case 'write_stalled':
      return t('reason.write_stalled');
    case 'takeover':
      return t('reason.takeover');
    case 'protocol_error':
    case 'oversized_packet':
      return t('reason.protocol_error');
    case 'password_required':
      return t('reason.password_required');
    case 'connect_refused':
      return t('reason.connect_refused');
    case 'store_failure':
      return t('reason.store_failure');
    case 'hub_shutdown':
      return t('reason.hub_shutdown');
    case 'no_messages':
      return t('reason.none');
    default:
      return t('reason.other');
  }
}

/** @type {Map<string, PresenceState>} */
const known = new Map();

/** Emits `presence` (with the uuid) for each cradle whose state changed. */
function check() {
  const uuids = new Set(state.cradles.map((c) => c.uuid));
  for (const uuid of [...known.keys()]) if (!uuids.has(uuid)) known.delete(uuid);
  for (const uuid of uuids) {
    const now = presenceOf(uuid).state;
    if (known.get(uuid) === now) continue;
    known.set(uuid, now);
    emit('presence', uuid);
  }
}

let watching = false;
/** Starts deriving `presence` events (once, at start). */
export function watchPresence() {
  if (watching) return;
  watching = true;
  on('status', check);
  on('cradles', check);
  // Only for hubs with an external broker: "online" runs out after a minute
  // of silence without any event saying so.
  window.setInterval(check, 5000);
}
