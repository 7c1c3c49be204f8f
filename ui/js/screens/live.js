// The cradle view: live picture, readings, rock / stop, and a clear
// "silent" state when the cradle stops reporting. Data comes from the event
// stream (state.statuses); a 1 s local timer only refreshes "… ago" texts.

import { api, ApiError } from '../api.js';
import { h, setText } from '../dom.js';
import { t } from '../i18n.js';
import { hubNow, parseTime } from '../clock.js';
import { state, on, setStatus } from '../state.js';
import { cradleName, cradleSwitcher, messageBox } from '../components.js';
import {
  agoFromIso,
  cryingLabel,
  directionLabel,
  formatAgo,
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
    draw();
    try {
      await api.motor(uuid, action);
      const s = state.statuses.get(uuid);
      if (s) setStatus(uuid, { ...s, rocking: action === 'start' });
    } catch (e) {
      msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
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

    // Overall state: no contact with the hub, waiting (never heard), live, or silent.
    const lastMs = parseTime(s?.last_update);
    const hubLost = state.connection === 'reconnecting' || state.connection === 'offline';
    const silent = !hubLost && !!s && lastMs !== null && now - lastMs > SILENT_AFTER_MS;
    const never = !s || lastMs === null;
    const st = hubLost ? 'nohub' : never ? 'waiting' : silent ? 'silent' : 'live';
    pill.dataset.state = st;
    if (announced !== null && announced !== st) {
      setText(announce, st === 'silent' ? t('live.announceSilent') : st === 'live' ? t('live.announceLive') : st === 'nohub' ? t('conn.reconnectingLong') : '');
    }
    announced = st;
    setText(
      pill,
      st === 'live' ? t('live.pillLive') : st === 'silent' ? t('live.pillSilent') : st === 'nohub' ? t('live.pillNoHub') : t('live.pillWaiting'),
    );

    // Picture overlay
    const frameStale = stale(s?.last_frame_time);
    const frameMs = parseTime(s?.last_frame_time);
    picture.dataset.state = hubLost ? 'nohub' : never ? 'waiting' : silent ? 'silent' : frameStale ? 'noframe' : 'live';
    let overlayText = '';
    if (hubLost && state.connection === 'offline') overlayText = t('conn.offlineLong');
    else if (hubLost) overlayText = lastMs !== null ? t('live.noHubSince', { ago: formatAgo(lastMs) }) : t('conn.reconnectingLong');
    else if (never) overlayText = state.connection === 'open' ? t('live.waiting') : t('conn.connecting');
    else if (silent && lastMs !== null) overlayText = t('live.silentSince', { time: formatWhen(lastMs), ago: formatAgo(lastMs) });
    else if (frameStale) overlayText = frameMs === null ? t('live.noPicture') : t('live.pictureStopped', { ago: formatAgo(frameMs) });
    overlay.hidden = !overlayText;
    setText(overlay, overlayText);
    picture.dataset.silentSince = silent && lastMs !== null ? new Date(lastMs).toISOString() : '';

    // Rocking
    const rocking = s?.rocking === true;
    rockBadge.hidden = !rocking;
    rockBtn.dataset.rocking = String(rocking);
    rockBtn.disabled = !uuid;
    setText(rockLabel, rocking ? t('live.stopRocking') : t('live.startRocking'));
    setText(
      rockState,
      rockPending ? t('live.sending') : rocking ? t('live.rockingNow') : s?.rocking === false ? t('live.notRocking') : t('live.rockHint'),
    );

    // Temperature
    setText(temp.value, formatTemp(s?.temperature));
    setText(temp.detail, s?.temperature_time ? t('live.measured', { ago: agoFromIso(s.temperature_time) }) : '\u00a0');
    temp.el.dataset.stale = String(hubLost || (!!s?.temperature_time && stale(s.temperature_time)));

    // Crying
    setText(cry.value, cryingLabel(s?.crying));
    cry.el.dataset.alarm = String(isCrying(s?.crying));
    cry.el.dataset.stale = String(silent || hubLost);
    setText(cry.detail, s?.crying_time ? t('live.heard', { ago: agoFromIso(s.crying_time) }) : '\u00a0');

    // Face direction (in words, never the device's raw string)
    const kind = s?.direction_kind ?? null;
    setText(face.value, directionLabel(kind));
    face.el.dataset.alarm = String(!!kind && kind !== 'frontal' && kind !== 'checking');
    face.el.dataset.stale = String(silent || hubLost);
    const frontalMs = parseTime(s?.last_normal_face_time);
    let faceDetail = '\u00a0';
    const dirMs = parseTime(s?.last_direction_time);
    if ((silent || hubLost) && dirMs !== null) faceDetail = t('live.lastKnown', { ago: formatAgo(dirMs) });
    else if (kind === 'frontal') faceDetail = t('live.frontalNow');
    else if (frontalMs !== null) faceDetail = t('live.notFrontalFor', { d: formatDuration(now - frontalMs) });
    else if (kind) faceDetail = t('live.neverFrontal');
    setText(face.detail, faceDetail);

    // Last reading
    setText(last.value, lastMs === null ? '—' : formatAgo(lastMs));
    setText(last.detail, lastMs === null ? t('live.noData') : formatClock(lastMs));
    last.el.dataset.stale = String(silent || hubLost);
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
      setStream();
      draw();
    }),
    on('alerts', draw),
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
