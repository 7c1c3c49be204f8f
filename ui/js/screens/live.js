// The cradle view: live picture, readings, rock / stop, a prominent
// "offline" banner when the cradle's connection to the hub is gone, and a
// "silent" state when it is connected but stops reporting. Data comes from
// the event stream (state.statuses); a 1 s local timer only refreshes
// "… ago" texts.

import { api, ApiError } from '../api.js';
import { h, setText } from '../dom.js';
import { t } from '../i18n.js';
import { hubNow, parseTime } from '../clock.js';
import { state, on, setStatus } from '../state.js';
import { cradleName, cradleSwitcher, messageBox } from '../components.js';
import { presenceOf, reasonText } from '../presence.js';
import {
  agoFromIso,
  cryingLabel,
  directionLabel,
  formatAgo,
  formatAt,
  formatClock,
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
  let rockPending = false;
  rockBtn.addEventListener('click', async () => {
    const uuid = state.selected;
    if (!uuid || rockPending) return;
    const rocking = state.statuses.get(uuid)?.rocking === true;
    const action = rocking ? 'stop' : 'start';
    rockPending = true;
    rockBtn.setAttribute('aria-busy', 'true');
    msg.clear();
    rockError = false;
    draw();
    try {
      await api.motor(uuid, action);
      const s = state.statuses.get(uuid);
      if (s) setStatus(uuid, { ...s, rocking: action === 'start' });
    } catch (e) {
      // The hub's own words (e.g. "The cradle is not connected to the hub
      // right now…"); the cradle's state is whatever the hub says next.
      msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
      rockError = true;
      if (e instanceof ApiError && !e.unreachable && e.status !== 401) {
        api
          .status(uuid)
          .then((fresh) => setStatus(uuid, fresh))
          .catch(() => {});
      }
    } finally {
      rockPending = false;
      rockBtn.removeAttribute('aria-busy');
      draw();
    }
  });

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

  const el = h(
    'section',
    { class: 'screen live' },
    switcher.el,
    h('div', { class: 'title-row' }, title, h('div', { class: 'status-row' }, pill, alertsLink)),
    announce,
    offBanner,
    h(
      'div',
      { class: 'live-grid' },
      h('div', { class: 'live-main' }, picture, rockBtn, msg.el),
      h('div', { class: 'tiles', role: 'group', 'aria-label': t('live.readings') }, temp.el, cry.el, face.el, last.el),
    ),
  );

  const onVisibility = () => {
    hidden = document.hidden;
    setStream(!hidden);
  };
  document.addEventListener('visibilitychange', onVisibility);
  const offs = [
    on('status', (uuid) => {
      if (uuid === state.selected) draw();
    }),
    on('selected', () => {
      if (rockError) msg.clear();
      rockError = false;
      setStream();
      draw();
    }),
    on('alerts', draw),
    on('presence', (uuid) => {
      if (uuid === state.selected) draw();
    }),
    on('connection', draw),
    on('reconnected', () => setStream(true)),
  ];
  const ticker = window.setInterval(draw, 1000);
  setStream();
  draw();

  return {
    el,
    title: t('live.title'),
    destroy: () => {
      window.clearInterval(ticker);
      window.clearTimeout(imgRetry);
      document.removeEventListener('visibilitychange', onVisibility);
      offs.forEach((f) => f());
      switcher.destroy();
      img.removeAttribute('src');
    },
  };
}
