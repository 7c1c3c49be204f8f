// The one module that talks to the hub's REST API. Every call goes through
// `request`, which sends the session cookie, the UI's language and turns an
// error answer into an `ApiError` carrying the status and the hub's
// (already localised) message.

import { getLang, t } from './i18n.js';
import { noteServerDate } from './clock.js';

/**
 * @typedef {{id: number, username: string}} User
 * @typedef {{id: number, uuid: string, ip: string, created_at: string, updated_at: string,
 *   last_update?: string | null, selected?: boolean, online?: boolean, last_seen?: string | null,
 *   mqtt_password_required?: boolean, role?: Role}} Agent
 *   role: the account's role on the cradle (absent from hubs without households: owner)
 * @typedef {{state: 'connected' | 'disconnected' | string, since: string, reason?: string | null}} CradleLink
 *   the cradle's MQTT connection as the hub saw it last (hubs with their own MQTT endpoint)
 * @typedef {'frontal'|'left'|'right'|'no_face'|'detector_error'|'checking'|'other'} DirectionKind
 * @typedef {{agent_uuid: string, temperature: number | null, crying: string | null,
 *   direction: string | null, face_direction: string | null,
 *   last_direction_time: string | null, last_normal_face_time: string | null,
 *   last_update: string | null, direction_kind?: DirectionKind | null,
 *   temperature_time?: string | null, crying_time?: string | null,
 *   last_frame_time?: string | null, rocking?: boolean | null, rocking_since?: string | null,
 *   rocking_stops_at?: string | null, rocking_by?: RockedBy | null, online?: boolean,
 *   last_seen?: string | null, connection?: CradleLink | null}} Status
 *   rocking: null when the hub has not commanded the motor yet (unknown);
 *   rocking_stops_at: when the hub stops it by itself (max_rock_minutes)
 * @typedef {'user'|'soothing'|'automatic'} RockedBy who sent a motor command: a parent, the
 *   soothing loop (the baby cried), or the hub's automatic stop
 * @typedef {{at: string, action: 'start'|'stop', by: RockedBy | string, username: string | null,
 *   sent: boolean, error: string | null}} MotorLogEntry
 * @typedef {'high_temperature'|'crying'|'abnormal_position'|'face_not_detected'|'cradle_offline'
 *   |'camera_silent'|'sensor_fault'} AlertType
 *   the last three resolve themselves when the cradle, its camera or its thermometer is back
 * @typedef {{id: number, agent_uuid: string, alert_type: AlertType | string, message?: string,
 *   alert_message?: string, temperature: number | null, face_detected: boolean | null,
 *   notification_sent?: boolean, resolved: boolean, created_at: string,
 *   resolved_at: string | null, critical?: boolean}} Alert
 *   critical: sent with the highest urgency (offline, camera silent, high temperature, soothing failed)
 * @typedef {{timestamp: string, temperature: number | null, crying: string | null,
 *   direction: string | null}} SensorRow
 * @typedef {{alert: Alert, sensor_data: SensorRow[], video_frames: {id: number, timestamp: string}[],
 *   total_frames: number, recording?: {from: string, to: string, complete: boolean}}} AlertDetail
 * @typedef {{max_temperature: number, abnormal_position_timeout: number,
 *   crying_duration_threshold: number, push_notifications_enabled: boolean,
 *   email_notifications_enabled: boolean, offline_alert_enabled: boolean, offline_after: number,
 *   camera_silent_alert_enabled: boolean, camera_silent_after: number,
 *   sensor_fault_alert_enabled: boolean, max_rock_minutes: number, soothing_enabled: boolean,
 *   soothe_after: number, soothe_minutes: number}} AlertSettings
 *   offline_after, camera_silent_after, soothe_after in seconds; max_rock_minutes, soothe_minutes in minutes
 * @typedef {{start: string, date: string, time: string, frames: number}} Recording
 * @typedef {{urls: string[], mqtt_port: number | null, version: string, default_language: string,
 *   tls?: string, https_urls?: string[], ca_sha256?: string | null}} HubInfo
 *   `tls` is "off", "self-signed" or "files"; with it on, phones use `https_urls`
 * @typedef {{required: boolean, username: string}} MqttPassword
 * @typedef {{free_bytes: number, total_bytes: number}} DiskSpace
 * @typedef {{status: 'ok' | 'degraded' | string, problems?: string[], disk?: DiskSpace | null}} HubHealth
 *   `GET /health`: 200 ok, or 503 degraded with `problems` ("ingest stopped", "disk nearly full", …)
 * @typedef {{success: boolean, required: boolean, username: string, password?: string, message?: string}} MqttPasswordChange
 *   `password` only when it was just turned on or renewed: shown once, never again
 * @typedef {{id: string, user_agent: string | null, ip: string | null, created_at: string,
 *   last_seen_at: string, expires_at: string, current: boolean}} Session
 *   a device signed in to the account (`current`: the one asking), most recently used first
 * @typedef {'owner'|'parent'|'viewer'} Role owner: everything; parent: watch, rock, resolve, change
 *   alert settings; viewer: watch and see alerts only
 * @typedef {{user_id: number, username: string, role: Role, added_at: string | null, you: boolean}} Member
 * @typedef {{id: number, code: string, role: 'parent' | 'viewer', created_at: string, expires_at: string}} Invite
 *   an open invite: 6 digits, once, until `expires_at` (10 minutes)
 * @typedef {Invite & {join_url: string}} NewInvite join_url: `<hub>/#/join/<code>`, for the QR code
 * @typedef {{id: number, at: string, user_id: number | null, username: string | null, action: string,
 *   detail: unknown}} ActivityItem
 *   who did what to a cradle (rocked, stopped, resolved, settings_changed, invited, invite_revoked,
 *   joined, role_changed, ownership_transferred, removed, left, lan_app_view_changed)
 * @typedef {{items: ActivityItem[], next_before: number | null}} ActivityPage
 * @typedef {{id: number, alert_id: number, agent_uuid: string, alert_type: AlertType | string,
 *   message: string, created_at: string, read: boolean, read_at: string | null, resolved: boolean,
 *   resolved_at: string | null, seq: number}} InboxItem
 *   one alert in one member's inbox, with that member's own read state (inbox screen)
 * @typedef {{unread?: boolean, type?: string, uuid?: string, from?: string, before?: number,
 *   limit?: number}} InboxQuery `from`: RFC 3339; `before`: the `next_before` of the page above
 * @typedef {{items: InboxItem[], unread_count: number, next_before: number | null}} InboxPage
 * @typedef {{push: boolean, email: boolean}} NotifyPrefs this member's own switches for one cradle
 * @typedef {{id: number, username: string, email: string | null, email_available: boolean}} AccountInfo
 *   email_available: the hub has an email server configured
 */

/** An error answer from the hub (or no answer at all: status 0). */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the hub could not be reached
   * @param {string} message what the hub said, in the UI's language
   * @param {number | null} [retryAfter] seconds, from a Retry-After header (429, 503)
   */
  constructor(status, message, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.retryAfter = retryAfter;
  }
  /** True when the hub did not answer at all (down, restarting, offline). */
  get unreachable() {
    return this.status === 0;
  }
}

/** @type {(() => void) | null} */
let onUnauthorized = null;

/** Called whenever an answer says the session is gone (401). @param {() => void} fn */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/**
 * @param {string} method
 * @param {string} path
 * @param {{json?: unknown, body?: BodyInit, contentType?: string, signal?: AbortSignal,
 *   quiet401?: boolean}} [opts]
 * @returns {Promise<any>}
 */
async function request(method, path, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = { 'Accept-Language': getLang(), Accept: 'application/json' };
  /** @type {BodyInit | undefined} */
  let body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.body !== undefined) {
    body = opts.body;
    if (opts.contentType) headers['Content-Type'] = opts.contentType;
  }
  /** @type {Response} */
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body,
      credentials: 'same-origin',
      cache: 'no-store',
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, t('error.unreachable'));
  }
  noteServerDate(res.headers.get('Date'));
  const text = await res.text();
  /** @type {any} */
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const message =
      (data && typeof data === 'object' && (data.message || data.error)) || t('error.generic', { status: res.status });
    if (res.status === 401 && !opts.quiet401 && onUnauthorized) onUnauthorized();
    const retry = Number(res.headers.get('Retry-After'));
    throw new ApiError(res.status, String(message), res.headers.has('Retry-After') && Number.isFinite(retry) ? retry : null);
  }
  return data;
}

/**
 * The hub's own health (no login needed). A 503 is an answer here, not an
 * error: the body says what is wrong. Null when the answer is not the hub's
 * (no JSON body with a status, e.g. a proxy's error page); throws an
 * `ApiError` with status 0 when the hub could not be reached.
 * @param {AbortSignal} [signal] @returns {Promise<HubHealth | null>}
 */
async function health(signal) {
  /** @type {Response} */
  let res;
  try {
    res = await fetch('/health', { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store', signal });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, t('error.unreachable'));
  }
  noteServerDate(res.headers.get('Date'));
  /** @type {any} */
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  return data && typeof data === 'object' && typeof data.status === 'string' ? data : null;
}

/** @param {string} s */
const enc = (s) => encodeURIComponent(s);

export const api = {
  /** @param {string} username @param {string} password */
  register: (username, password) => request('POST', '/register', { json: { username, password } }),
  /** @param {string} username @param {string} password @returns {Promise<{user: User}>} */
  login: (username, password) => request('POST', '/login', { json: { username, password }, quiet401: true }),
  logout: () => request('POST', '/logout'),
  /**
   * Changes the account's password; every other device is signed out, this
   * one stays. A wrong current password is a 401 that does not mean the
   * session is gone (hence quiet; the caller checks), a too short one a 400.
   * @param {string} current @param {string} next @returns {Promise<{success: boolean, message?: string}>}
   */
  changePassword: (current, next) =>
    request('POST', '/api/account/password', { json: { current_password: current, new_password: next }, quiet401: true }),
  /** The devices signed in to this account. @returns {Promise<Session[]>} */
  sessions: () => request('GET', '/api/sessions'),
  /** Signs one device out (404: it is gone already). @param {string} id @returns {Promise<{success: boolean, message?: string}>} */
  endSession: (id) => request('DELETE', `/api/sessions/${enc(id)}`),
  /** Signs out every device but this one. @returns {Promise<{success: boolean, revoked: number, message?: string}>} */
  endOtherSessions: () => request('POST', '/api/sessions/revoke_others', { json: {} }),
  /** @param {string} name @param {AbortSignal} [signal] @returns {Promise<{exists: boolean}>} */
  checkUsername: (name, signal) => request('GET', `/check_username/${enc(name)}`, { signal }),

  /** @param {boolean} [quiet401] @returns {Promise<Agent[]>} */
  agents: (quiet401 = false) => request('GET', '/api/agents', { quiet401 }),
  /** @param {string} uuid */
  registerCradle: (uuid) => request('POST', '/register_cradle', { json: { cradle_uuid: uuid } }),
  /** @param {string} uuid */
  selectCradle: (uuid) => request('POST', '/select_cradle', { json: { uuid } }),
  /** @param {string} uuid */
  deleteCradle: (uuid) => request('POST', '/delete_cradle', { json: { uuid } }),
  /** @param {string} uuid @returns {Promise<Status>} */
  status: (uuid) => request('GET', `/api/agent_status/${enc(uuid)}`),
  /**
   * Rocks or stops. Refused with 429 (and Retry-After) when commands come too
   * fast or a start follows a stop within 2 s.
   * @param {string} uuid @param {'start'|'stop'} action
   * @returns {Promise<{success: boolean, action: string, rocking_stops_at?: string | null}>}
   */
  motor: (uuid, action) => request('POST', `/control_motor/${enc(uuid)}`, { json: { action } }),
  /** Newest first. @param {string} uuid @param {number} limit @returns {Promise<{entries: MotorLogEntry[]}>} */
  motorLog: (uuid, limit) => request('GET', `/api/cradles/${enc(uuid)}/motor_log?limit=${limit}`),

  /**
   * @param {string} uuid @param {Date} from @param {Date} to @param {AbortSignal} [signal]
   * @returns {Promise<SensorRow[]>}
   */
  sensorData: (uuid, from, to, signal) =>
    request(
      'GET',
      `/api/sensor_data/${enc(uuid)}?start_date=${enc(from.toISOString())}&end_date=${enc(to.toISOString())}`,
      { signal },
    ),
  /** @param {string} uuid @param {string} utcDate YYYY-MM-DD @param {AbortSignal} [signal] @returns {Promise<Recording[]>} */
  recordings: (uuid, utcDate, signal) => request('GET', `/api/recordings/${enc(uuid)}?date=${utcDate}`, { signal }),
  /** @param {string} uuid @param {string} date @param {string} time */
  videoUrl: (uuid, date, time) => `/api/video/${enc(uuid)}?date=${enc(date)}&time=${enc(time)}`,
  /** @param {string} uuid */
  streamUrl: (uuid) => `/stream/${enc(uuid)}`,

  /** @returns {Promise<Alert[]>} */
  alerts: () => request('GET', '/api/alert_logs'),
  /** @param {number} id @returns {Promise<AlertDetail>} */
  alertDetail: (id) => request('GET', `/api/alert_detail/${id}`),
  /** @param {number} id */
  resolveAlert: (id) => request('POST', `/api/alert_logs/${id}/resolve`),
  /** @param {number} id */
  clipUrl: (id) => `/api/alert_clip/${id}`,

  /** @param {string} uuid @returns {Promise<AlertSettings>} */
  settings: (uuid) => request('GET', `/api/alert_settings/${enc(uuid)}`),
  /** @param {string} uuid @param {Partial<AlertSettings>} values */
  saveSettings: (uuid, values) => request('POST', `/api/alert_settings/${enc(uuid)}`, { json: values }),

  /** @param {string} uuid @returns {Promise<MqttPassword>} */
  mqttPassword: (uuid) => request('GET', `/api/cradles/${enc(uuid)}/mqtt_password`),
  /**
   * Turns the cradle's MQTT password on (a new one each time) or off.
   * @param {string} uuid @param {boolean} required @returns {Promise<MqttPasswordChange>}
   */
  setMqttPassword: (uuid, required) => request('POST', `/api/cradles/${enc(uuid)}/mqtt_password`, { json: { required } }),

  /** @param {Blob} image @returns {Promise<{text: string}>} */
  decodeQr: (image) =>
    request('POST', '/api/qr/decode', { body: image, contentType: image.type || 'application/octet-stream' }),
  /** @returns {Promise<HubInfo>} */
  hubInfo: () => request('GET', '/api/hub_info'),
  hubQrUrl: () => '/api/hub_qr.svg',
  /** A QR code (SVG) of any text up to 512 bytes, drawn by the hub. @param {string} text */
  qrUrl: (text) => `/api/hub_qr.svg?text=${enc(text)}`,
  health,

  // --- Household: members, invites, activity (members, join and activity screens) ---
  /** @param {string} uuid @returns {Promise<Member[]>} */
  members: (uuid) => request('GET', `/api/cradles/${enc(uuid)}/members`),
  /** Owner: a member's new role; `owner` hands ownership over. @param {string} uuid @param {number} userId @param {Role} role */
  setMemberRole: (uuid, userId, role) => request('PATCH', `/api/cradles/${enc(uuid)}/members/${userId}`, { json: { role } }),
  /** Owner removes a member, or a member leaves (their own id). @param {string} uuid @param {number} userId */
  removeMember: (uuid, userId) => request('DELETE', `/api/cradles/${enc(uuid)}/members/${userId}`),
  /** @param {string} uuid @param {'parent' | 'viewer'} role @returns {Promise<NewInvite>} */
  createInvite: (uuid, role) => request('POST', `/api/cradles/${enc(uuid)}/invites`, { json: { role } }),
  /** The open invites. @param {string} uuid @returns {Promise<Invite[]>} */
  invites: (uuid) => request('GET', `/api/cradles/${enc(uuid)}/invites`),
  /** @param {string} uuid @param {number} id */
  revokeInvite: (uuid, id) => request('DELETE', `/api/cradles/${enc(uuid)}/invites/${id}`),
  /**
   * 404: wrong, expired, used or revoked; 409: already a member; 429 (with
   * Retry-After) after too many wrong codes.
   * @param {string} code @returns {Promise<{success: boolean, uuid: string, role: Role}>}
   */
  acceptInvite: (code) => request('POST', '/api/invites/accept', { json: { code } }),
  /** Newest first. @param {string} uuid @param {number | null} before @param {number} limit @returns {Promise<ActivityPage>} */
  activity: (uuid, before, limit) =>
    request('GET', `/api/cradles/${enc(uuid)}/activity?limit=${limit}${before === null ? '' : `&before=${before}`}`),
  /** @param {string} uuid @returns {Promise<{enabled: boolean}>} */
  lanAppView: (uuid) => request('GET', `/api/cradles/${enc(uuid)}/lan_app_view`),
  /** @param {string} uuid @param {boolean} enabled */
  setLanAppView: (uuid, enabled) => request('POST', `/api/cradles/${enc(uuid)}/lan_app_view`, { json: { enabled } }),

  // --- Inbox, push and email (inbox and notification settings screens) ---
  /** Newest first. @param {InboxQuery} q @param {AbortSignal} [signal] @returns {Promise<InboxPage>} */
  notifications: (q, signal) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') params.set(k, String(v));
    return request('GET', `/api/notifications?${params}`, { signal });
  },
  /** @returns {Promise<{unread_count: number}>} */
  unreadCount: () => request('GET', '/api/notifications/unread_count'),
  /** @param {number} id @param {boolean} read */
  markNotification: (id, read) => request('POST', `/api/notifications/${id}/${read ? 'read' : 'unread'}`),
  /** @param {{uuid?: string, type?: string}} filter @returns {Promise<{success: boolean, updated: number}>} */
  readAllNotifications: (filter) => request('POST', '/api/notifications/read_all', { json: filter }),
  /** @param {string} uuid @returns {Promise<NotifyPrefs>} */
  notifyPrefs: (uuid) => request('GET', `/api/cradles/${enc(uuid)}/notify`),
  /** @param {string} uuid @param {Partial<NotifyPrefs>} prefs @returns {Promise<NotifyPrefs>} */
  setNotifyPrefs: (uuid, prefs) => request('POST', `/api/cradles/${enc(uuid)}/notify`, { json: prefs }),
  /** The hub's VAPID key (base64url, uncompressed P-256). @returns {Promise<{public_key: string}>} */
  pushPublicKey: () => request('GET', '/api/push/public_key'),
  /**
   * Registers this device's push subscription; pushes are worded in `lang`.
   * @param {PushSubscriptionJSON} sub @param {string} lang
   */
  pushSubscribe: (sub, lang) => request('POST', '/api/push_subscription', { json: { endpoint: sub.endpoint, keys: sub.keys, lang } }),
  /** @param {string} endpoint */
  pushUnsubscribe: (endpoint) => request('DELETE', '/api/push_subscription', { json: { endpoint } }),
  /** @returns {Promise<AccountInfo>} */
  account: () => request('GET', '/api/account'),
  /** @param {string | null} email null removes it @returns {Promise<{success: boolean, email?: string | null}>} */
  setEmail: (email) => request('POST', '/api/account/email', { json: { email } }),
};
