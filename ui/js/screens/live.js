// The cradle view: live picture, readings, rock / stop (with the time left
// until the hub stops it by itself, and who started it), the motor's
// history, a prominent "offline" banner when the cradle's connection to the
// hub is gone, and a "silent" state when it is connected but stops
// reporting. Data comes from the event stream (state.statuses); a 1 s local
// timer only refreshes "… ago" texts and countdowns.

import { api, ApiError } from '../api.js';
import { h, fill, setText } from '../dom.js';
import { t } from '../i18n.js';
import { hubNow, parseTime } from '../clock.js';
import { state, on, setStatus } from '../state.js';
import { cradleName, cradleSwitcher, messageBox } from '../components.js';
import { presenceOf, reasonText } from '../presence.js';
import { mayOperate, refreshRolesOn403, roleBadge, roleOf } from './members.js';
import { activityCard } from './activity.js';
import {
  agoFromIso,
  cryingLabel,
  directionLabel,
  formatAgo,
  formatAt,
  formatClock,
  formatCountdown,
  formatDuration,
  formatTemp,
  formatWhen,
  isCrying,
} from '../format.js';

/** No reading or frame for this long: the cradle is "silent". */
export const SILENT_AFTER_MS = 10_000;

/**
 * @param {string | null | undefined} iso
 * @returns {boolean} true when the time is missing or older than SILENT_AFTER_MS
 */
function stale(iso) {
  const ms = parseTime(iso);
  return ms === null || hubNow() - ms > SILENT_AFTER_MS;
}

/**
 * One reading tile: label, value (big), detail line. Fixed height (no jump).
 * @param {string} key data-reading name
 * @param {string} label
 */
function tile(key, label) {
  const value = h('p', { class: 'tile-value' }, '—');
  const detail = h('p', { class: 'tile-detail' }, '\u00a0');
  const el = h('div', { class: 'tile', 'data-reading': key }, h('h2', { class: 'tile-label' }, label), value, detail);
  return { el, value, detail };
}

/** @typedef {import('../api.js').MotorLogEntry} MotorLogEntry */

/** Motor log entries fetched at a time. */
const MOTOR_LOG_LIMIT = 30;

/** Who sent a logged command, in words ("by you", "by soothing"). @param {MotorLogEntry} e */
function motorBy(e) {
  switch (e.by) {
    case 'soothing':
      return t('motor.bySoothing');
    case 'automatic':
      return t('motor.byAutomatic');
    default:
      if (e.username && e.username === state.user?.username) return t('motor.byYou');
      return e.username ? t('motor.byUser', { name: e.username }) : t('motor.byParent');
  }
}

/** Why a logged command did not reach the motor. @param {MotorLogEntry} e */
function motorFailure(e) {
  const error = e.error ?? '';
  if (error.startsWith('refused')) return t('motor.refused');
  if (/not connected/i.test(error)) return t('motor.notConnected');
  return t('motor.notSent');
}

/** One line of the motor history. @param {MotorLogEntry} e */
function motorEntry(e) {
  const ms = parseTime(e.at);
  const today = ms !== null && new Date(ms).toDateString() === new Date().toDateString();
  return h(
    'li',
    { class: 'motor-entry', 'data-action': e.action, 'data-by': e.by, 'data-sent': String(e.sent) },
    h('time', { class: 'motor-time', datetime: e.at }, ms === null ? '—' : today ? formatClock(ms) : formatWhen(ms)),
    h(
      'span',
      { class: 'motor-what' },
      h('strong', {}, t(e.action === 'start' ? (e.sent ? 'motor.start' : 'motor.startTried') : e.sent ? 'motor.stop' : 'motor.stopTried')),
      ' ',
      h('span', { class: 'motor-by' }, motorBy(e)),
      e.sent ? null : h('span', { class: 'motor-fail' }, motorFailure(e)),
    ),
  );
}

/** @returns {import('../app.js').Screen} */
export function liveScreen() {
  const switcher = cradleSwitcher();
  const title = h('h1', { class: 'screen-title' }, '');
  const pill = h('span', { class: 'pill', 'data-state': 'waiting' }, '');
  const msg = messageBox();

  // The cradle is not connected to the hub: since when, last seen, why.
  const offTitle = h('p', { class: 'offline-title' }, '');
  const offReason = h('p', { class: 'offline-reason' }, '');
  const offFor = h('p', { class: 'offline-for' }, '');
  const offLink = h('a', { class: 'link', href: '#/settings', hidden: true }, t('live.toPassword'));
  const offBanner = h(
    'div',
    { class: 'cradle-offline', hidden: true },
    h('span', { class: 'offline-icon', 'aria-hidden': 'true' }, '!'),
    h('div', { class: 'offline-text' }, offTitle, offReason, offFor, offLink),
  );
  /** True while `msg` shows a refused rock command (cleared once the cradle is back). */
  let rockError = false;

  // Picture
  let streamVersion = 0;
  let hidden = document.hidden;
  /** @type {string | null} */
  let shownUuid = null;
  const img = h('img', { class: 'live-img', alt: '', decoding: 'async' });
  // The overlay's "… ago" changes every second: not a live region. State
  // changes are announced once through `announce`.
  const overlay = h('div', { class: 'overlay', hidden: true });
  const announce = h('p', { class: 'visually-hidden', role: 'status' });
  /** @type {string | null} */
  let announced = null;
  const rockBadge = h('span', { class: 'rock-badge', hidden: true }, t('live.rockingBadge'));
  const picture = h('div', { class: 'picture', 'data-state': 'waiting' }, img, rockBadge, overlay);
  let imgRetry = 0;
  img.addEventListener('error', () => {
    // The hub was unreachable or restarting: try again shortly.
    window.clearTimeout(imgRetry);
    imgRetry = window.setTimeout(() => setStream(true), 3000);
  });

  /** @param {boolean} [force] re-open even when the cradle did not change */
  function setStream(force = false) {
    const uuid = state.selected;
    if (hidden || !uuid) {
      if (img.getAttribute('src')) img.removeAttribute('src');
      shownUuid = null;
      return;
    }
    if (!force && uuid === shownUuid) return;
    shownUuid = uuid;
    streamVersion += 1;
    img.src = `${api.streamUrl(uuid)}?v=${streamVersion}`;
    img.alt = t('live.pictureAlt', { name: cradleName(uuid) });
  }

  // Rock button
  // The label says what a press does ("Start" / "Stop"); the line under it says what the cradle does.
  const rockBtn = h('button', { type: 'button', class: 'btn rock', 'data-action': 'rock', 'data-rocking': 'false' });
  const rockLabel = h('span', { class: 'rock-label' }, t('live.startRocking'));
  const rockState = h('span', { class: 'rock-state' }, '\u00a0');
  rockBtn.append(h('span', { class: 'icon icon-rock', 'aria-hidden': 'true' }), h('span', { class: 'rock-text' }, rockLabel, rockState));
  // Under the button while rocking: "Stops by itself in 12:34 · started by you".
  const rockCountdown = h('span', { class: 'rock-countdown' });
  const rockBy = h('span', { class: 'rock-by' });
  const rockInfo = h('p', { class: 'rock-info', 'data-rocking': 'false' }, rockCountdown, rockBy);
  let rockPending = false;
  // A viewer has no rock button at all: a line saying what they can do instead.
  const viewerNote = h('p', { class: 'viewer-note', 'data-note': 'viewer' }, t('household.viewerNote'));
  const rockSlot = h('div', { class: 'rock-slot' });
  /** @type {boolean | null} whether the rock button is in `rockSlot` */
  let rockShown = null;
  // The account's role on this cradle, and the way to its household.
  const roleSlot = h('span', { class: 'role-slot' });
  /** @type {string | null} */
  let roleShown = null;
  const householdLink = h('a', { class: 'link household-link', href: '#/members', 'data-action': 'household' }, t('household.link'));
  /** A refused command (429): the hub's words, until it may be tried again (hub ms). */
  let refused = { text: '', until: 0 };
  rockBtn.addEventListener('click', async () => {
    const uuid = state.selected;
    if (!uuid || rockPending) return;
    const rocking = state.statuses.get(uuid)?.rocking === true;
    const action = rocking ? 'stop' : 'start';
    rockPending = true;
    rockBtn.setAttribute('aria-busy', 'true');
    msg.clear();
    rockError = false;
    refused = { text: '', until: 0 };
    draw();
    try {
      const res = await api.motor(uuid, action);
      const s = state.statuses.get(uuid);
      const now = new Date(hubNow()).toISOString();
      if (s) {
        setStatus(uuid, {
          ...s,
          rocking: action === 'start',
          rocking_since: action === 'start' ? s.rocking_since ?? now : null,
          rocking_stops_at: action === 'start' ? res?.rocking_stops_at ?? s.rocking_stops_at ?? null : null,
          rocking_by: action === 'start' ? s.rocking_by ?? 'user' : null,
        });
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 429) {
        // Too many commands, or a start right after a stop: the hub's words
        // and when to try again; not a failure of the cradle.
        refused = { text: e.message, until: hubNow() + Math.max(1, e.retryAfter ?? 5) * 1000 };
        showRefusal();
      } else {
        // The hub's own words (e.g. "The cradle is not connected to the hub
        // right now…"); the cradle's state is whatever the hub says next.
        msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
        rockError = true;
        // Made a viewer meanwhile: the button goes once the roles are read again.
        refreshRolesOn403(e);
        if (e instanceof ApiError && !e.unreachable && e.status !== 401) {
          api
            .status(uuid)
            .then((fresh) => setStatus(uuid, fresh))
            .catch(() => {});
        }
      }
    } finally {
      rockPending = false;
      rockBtn.removeAttribute('aria-busy');
      draw();
      // The log is written just after the command.
      refreshMotorLog(800);
    }
  });

  /**
   * Shows a refused command once (a status region: not re-announced every
   * second), and clears it when it may be tried again.
   */
  function showRefusal() {
    if (!refused.text) return;
    const left = Math.ceil((refused.until - hubNow()) / 1000);
    if (left <= 0) {
      refused = { text: '', until: 0 };
      msg.clear();
      return;
    }
    if (!msg.el.textContent?.startsWith(refused.text)) msg.info(`${refused.text} ${t('live.retryIn', { s: left })}`);
  }

  // The motor's history (folded; loaded when opened).
  const motorList = h('ol', { class: 'motor-list' });
  const motorMsg = h('p', { class: 'hint', role: 'status' });
  const motorLog = h(
    'details',
    { class: 'motor-log' },
    h('summary', {}, h('span', { class: 'motor-title' }, t('motor.title'))),
    h('p', { class: 'hint' }, t('motor.hint')),
    motorMsg,
    motorList,
  );
  /** @type {MotorLogEntry[] | null} entries of `motorFor`, newest first */
  let motorEntries = null;
  /** @type {string | null} */
  let motorFor = null;
  let motorTimer = 0;
  let whoTimer = 0;
  let motorSeq = 0;
  /** The rocking start whose sender was looked up in the log (by rocking_since), and how often. */
  let askedWho = { since: '', times: 0 };

  async function loadMotorLog() {
    const uuid = state.selected;
    if (!uuid) return;
    const seq = ++motorSeq;
    try {
      const { entries } = await api.motorLog(uuid, MOTOR_LOG_LIMIT);
      if (seq !== motorSeq || uuid !== state.selected) return;
      motorEntries = entries;
      motorFor = uuid;
      setText(motorMsg, '');
      drawMotorLog();
      draw();
    } catch (e) {
      if (seq !== motorSeq) return;
      setText(motorMsg, e instanceof ApiError ? e.message : t('motor.loadError'));
    }
  }

  /** Reloads the log after `delay` ms, when it is shown. @param {number} delay */
  function refreshMotorLog(delay) {
    window.clearTimeout(motorTimer);
    motorTimer = window.setTimeout(() => {
      if (motorLog.open) loadMotorLog();
    }, delay);
  }

  function drawMotorLog() {
    if (!motorEntries) return;
    motorList.dataset.loaded = 'true';
    if (!motorEntries.length) {
      fill(motorList, h('li', { class: 'muted' }, t('motor.empty')));
      return;
    }
    fill(motorList, ...motorEntries.map(motorEntry));
  }

  motorLog.addEventListener('toggle', () => {
    if (motorLog.open) loadMotorLog();
  });

  /**
   * Who started the current rocking, in words. When a parent did, the log
   * says who: it is asked (up to three times, as it is written just after
   * the command); nothing is said meanwhile.
   * @param {import('../api.js').Status} s
   */
  function rockedBy(s) {
    if (s.rocking_by === 'soothing') return t('live.bySoothing');
    if (s.rocking_by !== 'user') return '';
    const since = parseTime(s.rocking_since);
    const start = motorFor === state.selected && since !== null
      ? motorEntries?.find((e) => e.action === 'start' && e.sent && Math.abs((parseTime(e.at) ?? 0) - since) < 1500)
      : undefined;
    if (start) {
      if (start.username && start.username === state.user?.username) return t('live.byYou');
      return start.username ? t('live.byUser', { name: start.username }) : t('live.byParent');
    }
    const key = s.rocking_since ?? '';
    if (askedWho.since !== key) askedWho = { since: key, times: 0 };
    if (askedWho.times >= 3) return t('live.byParent');
    if (!whoTimer && !rockPending) {
      askedWho.times += 1;
      whoTimer = window.setTimeout(() => {
        whoTimer = 0;
        loadMotorLog();
      }, askedWho.times * 700);
    }
    return '';
  }

  // Readings
  const temp = tile('temperature', t('live.temperature'));
  const cry = tile('crying', t('live.crying'));
  const face = tile('face', t('live.face'));
  const last = tile('last', t('live.lastReading'));
  const alertsLink = h('a', { class: 'alert-link', href: '#/alerts', hidden: true });

  function draw() {
    const uuid = state.selected;
    setText(title, uuid ? cradleName(uuid) : t('live.title'));
    const s = uuid ? state.statuses.get(uuid) : undefined;
    const now = hubNow();

    // Overall state: no contact with the hub, the cradle offline (its
    // connection to the hub is gone), waiting (never heard), live, or silent
    // (connected but no readings).
    const lastMs = parseTime(s?.last_update);
    const hubLost = state.connection === 'reconnecting' || state.connection === 'offline';
    const presence = presenceOf(uuid);
    const off = !hubLost && !!uuid && presence.state === 'offline';
    const silent = !hubLost && !off && !!s && lastMs !== null && now - lastMs > SILENT_AFTER_MS;
    const never = !s || lastMs === null;
    const st = hubLost ? 'nohub' : off ? 'offline' : never ? 'waiting' : silent ? 'silent' : 'live';
    pill.dataset.state = st;
    el.dataset.state = st;
    if (announced !== null && announced !== st) {
      setText(
        announce,
        st === 'silent'
          ? t('live.announceSilent')
          : st === 'offline'
            ? `${t('live.announceOffline')} ${reasonText(presence.reason)}`
            : st === 'live'
              ? t('live.announceLive')
              : st === 'nohub'
                ? t('conn.reconnectingLong')
                : '',
      );
    }
    if (rockError && st === 'live' && announced !== null && announced !== 'live') {
      // Back online: the refusal no longer holds.
      msg.clear();
      rockError = false;
    }
    announced = st;
    setText(
      pill,
      st === 'live'
        ? t('live.pillLive')
        : st === 'silent'
          ? t('live.pillSilent')
          : st === 'offline'
            ? t('live.pillOffline')
            : st === 'nohub'
              ? t('live.pillNoHub')
              : t('live.pillWaiting'),
    );

    // The offline banner
    offBanner.hidden = !off;
    if (off) {
      const since = presence.since !== null ? formatAt(presence.since) : null;
      const seen = presence.lastSeen !== null ? formatAt(presence.lastSeen) : null;
      setText(
        offTitle,
        since && seen && since !== seen
          ? t('live.offlineSince', { since, seen })
          : since
            ? t('live.offlineAt', { since })
            : seen
              ? t('live.offlineSeen', { seen })
              : t('live.offlineNever'),
      );
      setText(offReason, reasonText(presence.reason));
      const from = presence.since ?? presence.lastSeen;
      setText(offFor, from !== null ? t('live.offlineFor', { d: formatDuration(now - from) }) : '');
      offLink.hidden = presence.reason !== 'password_required';
      offBanner.dataset.reason = presence.reason ?? '';
    }

    // Picture overlay
    const frameStale = stale(s?.last_frame_time);
    const frameMs = parseTime(s?.last_frame_time);
    picture.dataset.state = hubLost ? 'nohub' : off ? 'offline' : never ? 'waiting' : silent ? 'silent' : frameStale ? 'noframe' : 'live';
    let overlayText = '';
    if (hubLost && state.connection === 'offline') overlayText = t('conn.offlineLong');
    else if (hubLost) overlayText = lastMs !== null ? t('live.noHubSince', { ago: formatAgo(lastMs) }) : t('conn.reconnectingLong');
    else if (off) overlayText = frameMs !== null ? t('live.offlineOverlay', { time: formatAt(frameMs) }) : t('live.offlineNoPicture');
    else if (never) overlayText = state.connection === 'open' ? t('live.waiting') : t('conn.connecting');
    else if (silent && lastMs !== null) overlayText = t('live.silentSince', { time: formatWhen(lastMs), ago: formatAgo(lastMs) });
    else if (frameStale) overlayText = frameMs === null ? t('live.noPicture') : t('live.pictureStopped', { ago: formatAgo(frameMs) });
    overlay.hidden = !overlayText;
    setText(overlay, overlayText);
    picture.dataset.silentSince = silent && lastMs !== null ? new Date(lastMs).toISOString() : '';

    // The role, and the rock button only for who may rock.
    const role = roleOf(uuid);
    if (role !== roleShown) {
      roleShown = role;
      fill(roleSlot, role ? roleBadge(role) : null);
    }
    const operate = mayOperate(uuid);
    if (operate !== rockShown) {
      rockShown = operate;
      if (operate) fill(rockSlot, rockBtn, rockInfo);
      else fill(rockSlot, viewerNote);
    }

    // Rocking: not while offline (the hub could not deliver it), and an
    // offline cradle is never shown as rocking.
    const rocking = s?.rocking === true && !off;
    rockBadge.hidden = !rocking;
    rockBtn.dataset.rocking = String(rocking);
    rockBtn.disabled = !uuid || off;
    setText(rockLabel, rocking ? t('live.stopRocking') : t('live.startRocking'));
    setText(
      rockState,
      rockPending
        ? t('live.sending')
        : off
          ? t('live.rockOffline')
          : rocking
            ? t('live.rockingNow')
            : s?.rocking === false
              ? t('live.notRocking')
              : t('live.rockHint'),
    );
    const stopsAt = rocking ? parseTime(s?.rocking_stops_at) : null;
    rockInfo.dataset.rocking = String(rocking);
    rockInfo.dataset.by = rocking ? s?.rocking_by ?? '' : '';
    setText(rockCountdown, stopsAt !== null ? t('live.stopsIn', { t: formatCountdown(stopsAt - now) }) : '');
    setText(rockBy, rocking && s ? rockedBy(s) : '');
    showRefusal();

    // Temperature
    setText(temp.value, formatTemp(s?.temperature));
    setText(temp.detail, s?.temperature_time ? t('live.measured', { ago: agoFromIso(s.temperature_time) }) : '\u00a0');
    temp.el.dataset.stale = String(hubLost || off || (!!s?.temperature_time && stale(s.temperature_time)));

    // Crying
    setText(cry.value, cryingLabel(s?.crying));
    cry.el.dataset.alarm = String(isCrying(s?.crying));
    cry.el.dataset.stale = String(silent || hubLost || off);
    setText(cry.detail, s?.crying_time ? t('live.heard', { ago: agoFromIso(s.crying_time) }) : '\u00a0');

    // Face direction (in words, never the device's raw string)
    const kind = s?.direction_kind ?? null;
    setText(face.value, directionLabel(kind));
    face.el.dataset.alarm = String(!!kind && kind !== 'frontal' && kind !== 'checking');
    face.el.dataset.stale = String(silent || hubLost || off);
    const frontalMs = parseTime(s?.last_normal_face_time);
    let faceDetail = '\u00a0';
    const dirMs = parseTime(s?.last_direction_time);
    if ((silent || hubLost || off) && dirMs !== null) faceDetail = t('live.lastKnown', { ago: formatAgo(dirMs) });
    else if (kind === 'frontal') faceDetail = t('live.frontalNow');
    else if (frontalMs !== null) faceDetail = t('live.notFrontalFor', { d: formatDuration(now - frontalMs) });
    else if (kind) faceDetail = t('live.neverFrontal');
    setText(face.detail, faceDetail);

    // Last reading
    setText(last.value, lastMs === null ? '—' : formatAgo(lastMs));
    setText(last.detail, lastMs === null ? t('live.noData') : formatClock(lastMs));
    last.el.dataset.stale = String(silent || hubLost || off);
    last.el.dataset.lastUpdate = s?.last_update ?? '';

    // Unresolved alerts of this cradle
    let open = 0;
    for (const a of state.alerts.values()) if (!a.resolved && a.agent_uuid === uuid) open += 1;
    alertsLink.hidden = open === 0;
    setText(alertsLink, open ? t('live.openAlerts', { n: open }) : '');
    alertsLink.setAttribute('aria-label', open ? `${t('alerts.unresolvedN', { n: open })} — ${t('alerts.view')}` : '');
  }

  const activity = activityCard();
  const el = h(
    'section',
    { class: 'screen live' },
    switcher.el,
    h('div', { class: 'title-row' }, title, h('div', { class: 'status-row' }, pill, alertsLink)),
    h('div', { class: 'household-row' }, roleSlot, householdLink),
    announce,
    offBanner,
    h(
      'div',
      { class: 'live-grid' },
      h('div', { class: 'live-main' }, picture, rockSlot, msg.el),
      h('div', { class: 'tiles', role: 'group', 'aria-label': t('live.readings') }, temp.el, cry.el, face.el, last.el),
      // After the readings on a phone; under the button on a wide screen.
      motorLog,
      activity.el,
    ),
  );

  const onVisibility = () => {
    hidden = document.hidden;
    setStream(!hidden);
  };
  document.addEventListener('visibilitychange', onVisibility);
  const offs = [
    on('status', (uuid) => {
      if (uuid !== state.selected) return;
      const rocking = state.statuses.get(uuid)?.rocking ?? null;
      if (rocking !== lastRocking) {
        // Started or stopped (here, elsewhere, by soothing or on time): a new log line.
        lastRocking = rocking;
        refreshMotorLog(800);
      }
      draw();
    }),
    on('selected', () => {
      if (rockError || refused.text) msg.clear();
      rockError = false;
      refused = { text: '', until: 0 };
      motorEntries = null;
      motorFor = null;
      fill(motorList);
      delete motorList.dataset.loaded;
      lastRocking = state.statuses.get(state.selected ?? '')?.rocking ?? null;
      if (motorLog.open) loadMotorLog();
      setStream();
      draw();
    }),
    on('alerts', draw),
    on('presence', (uuid) => {
      if (uuid === state.selected) draw();
    }),
    on('connection', draw),
    on('reconnected', () => setStream(true)),
    // Roles come with the cradle list.
    on('cradles', draw),
  ];
  /** @type {boolean | null} */
  let lastRocking = state.statuses.get(state.selected ?? '')?.rocking ?? null;
  const ticker = window.setInterval(draw, 1000);
  setStream();
  draw();

  return {
    el,
    title: t('live.title'),
    destroy: () => {
      window.clearInterval(ticker);
      window.clearTimeout(imgRetry);
      window.clearTimeout(motorTimer);
      window.clearTimeout(whoTimer);
      motorSeq += 1;
      document.removeEventListener('visibilitychange', onVisibility);
      offs.forEach((f) => f());
      switcher.destroy();
      activity.destroy();
      img.removeAttribute('src');
    },
  };
}
