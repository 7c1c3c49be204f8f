// Alerts of the last 24 h (unresolved first) and one alert's detail: its
// recorded clip, the readings of that window, and a resolve button.

import { api, ApiError } from '../api.js';
import { h, fill, setText } from '../dom.js';
import { getLang, t } from '../i18n.js';
import { parseTime, hubNow } from '../clock.js';
import { state, on, mergeAlerts, reloadAlerts, sortedAlerts, unresolvedCount } from '../state.js';
import { busy, cradleName, messageBox, page } from '../components.js';
import { Series, drawChart, legend } from '../chart.js';
import { mayOperate, refreshRolesOn403 } from './members.js';
import {
  alertTitle,
  cryingLabel,
  directionKindOf,
  directionLabel,
  formatAgo,
  formatClock,
  formatDuration,
  formatTemp,
  formatWhen,
  knownAlertType,
} from '../format.js';

/**
 * The alert's sentence in the UI's language: the hub's own when we fetched
 * it in this language, otherwise made here from its facts.
 * @param {import('../state.js').StoredAlert} a
 */
export function alertText(a) {
  if (a.lang === getLang() && a.message) return a.message;
  switch (a.alert_type) {
    case 'high_temperature':
      return a.temperature !== null ? t('alertMsg.high_temperature', { t: formatTemp(a.temperature) }) : alertTitle(a.alert_type);
    case 'crying':
      // Critical only when soothing rocked the whole time in vain.
      return a.critical ? t('alertMsg.soothingFailed') : t('alertMsg.crying');
    case 'abnormal_position':
      return t('alertMsg.abnormal_position');
    case 'face_not_detected':
      return t('alertMsg.face_not_detected');
    case 'cradle_offline':
      return t('alertMsg.cradle_offline');
    case 'camera_silent':
      return t('alertMsg.camera_silent');
    case 'sensor_fault':
      return t('alertMsg.sensor_fault');
    default:
      return a.message ?? '';
  }
}

/**
 * "Urgent" and "Still unresolved" marks of an alert (nothing for others).
 * @param {import('../state.js').StoredAlert} a
 */
export function alertTags(a) {
  const critical = a.critical ? h('span', { class: 'tag critical' }, t('alerts.critical')) : null;
  const reminded = a.reminded && !a.resolved ? h('span', { class: 'tag reminder' }, t('alerts.reminder')) : null;
  return critical || reminded ? h('span', { class: 'tags' }, critical, reminded) : null;
}

/**
 * Resolves an alert and updates the store at once (the event confirms it).
 * @param {import('../api.js').Alert} a
 */
async function resolve(a) {
  await api.resolveAlert(a.id);
  mergeAlerts([{ ...a, resolved: true, resolved_at: a.resolved_at ?? new Date(hubNow()).toISOString() }], null);
}

/** @param {import('../state.js').StoredAlert} a @param {(text: string) => void} onError */
function alertItem(a, onError) {
  const created = parseTime(a.created_at);
  const resolvedAt = parseTime(a.resolved_at);
  // A viewer sees alerts but does not resolve them: no button.
  const resolveBtn = a.resolved || !mayOperate(a.agent_uuid)
    ? null
    : h('button', { type: 'button', class: 'btn small', 'data-action': 'resolve' }, t('alerts.resolve'));
  resolveBtn?.addEventListener('click', () =>
    busy(resolveBtn, async () => {
      try {
        await resolve(a);
      } catch (e) {
        onError(e instanceof ApiError ? e.message : t('error.unexpected'));
        refreshRolesOn403(e);
      }
    }),
  );
  return h(
    'li',
    {
      class: 'alert-item',
      'data-id': a.id,
      'data-type': a.alert_type,
      'data-resolved': String(a.resolved),
      'data-critical': String(!!a.critical),
      'data-reminded': String(!!a.reminded && !a.resolved),
    },
    h('span', { class: 'type-icon', 'aria-hidden': 'true' }, h('span', { class: `icon icon-type-${knownAlertType(a.alert_type)}` })),
    h(
      'div',
      { class: 'alert-body' },
      h(
        'p',
        { class: 'alert-head' },
        h('a', { class: 'alert-title stretched', href: `#/alerts/${a.id}` }, alertTitle(a.alert_type)),
        alertTags(a),
      ),
      h('p', { class: 'alert-msg' }, alertText(a)),
      h(
        'p',
        { class: 'alert-meta muted' },
        cradleName(a.agent_uuid),
        ' · ',
        created !== null ? h('time', { datetime: a.created_at }, formatWhen(created)) : '',
        ' · ',
        a.resolved
          ? h('span', { class: 'state resolved' }, resolvedAt !== null ? t('alerts.resolvedAt', { time: formatClock(resolvedAt, false) }) : t('alerts.resolved'))
          : h('span', { class: 'state open' }, t('alerts.open')),
      ),
    ),
    resolveBtn,
  );
}

/** @returns {import('../app.js').Screen} */
export function alertsScreen() {
  const msg = messageBox();
  const summary = h('p', { class: 'lead', role: 'status' }, '\u00a0');
  const list = h('ul', { class: 'alert-list', 'aria-label': t('alerts.title') });
  let loaded = false;

  function draw() {
    const alerts = sortedAlerts();
    const open = unresolvedCount();
    setText(
      summary,
      !loaded && !alerts.length ? t('common.loading') : open ? t('alerts.unresolvedN', { n: open }) : t('alerts.allClear'),
    );
    if (loaded && !alerts.length) {
      fill(list, h('li', { class: 'empty' }, t('alerts.none')));
      return;
    }
    fill(list, ...alerts.map((a) => alertItem(a, (text) => msg.error(text))));
  }

  const offs = [on('alerts', draw), on('cradles', draw)];
  draw();
  reloadAlerts()
    .then(() => {
      loaded = true;
      draw();
    })
    .catch((e) => {
      loaded = true;
      draw();
      msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
    });

  const el = page(t('alerts.title'), 'alerts', h('p', { class: 'muted' }, t('alerts.last24h')), summary, msg.el, list);
  return { el, title: t('alerts.title'), destroy: () => offs.forEach((f) => f()) };
}

/**
 * @param {number} id
 * @returns {import('../app.js').Screen}
 */
export function alertDetailScreen(id) {
  const msg = messageBox();
  const title = h('h1', { class: 'screen-title' }, t('alerts.alert'));
  const tags = h('div', { class: 'detail-tags' });
  const text = h('p', { class: 'lead' }, '\u00a0');
  const meta = h('p', { class: 'muted' }, '\u00a0');
  const stateLine = h('p', { class: 'state-line' }, '\u00a0');
  const resolveBtn = h('button', { type: 'button', class: 'btn primary block big', hidden: true, 'data-action': 'resolve' }, t('alerts.resolve'));

  const video = h('video', {
    class: 'clip',
    controls: true,
    playsinline: true,
    preload: 'metadata',
    muted: true,
    'aria-label': t('alerts.clipLabel'),
  });
  const videoNote = h('p', { class: 'hint', 'aria-live': 'polite' }, '\u00a0');
  const videoBox = h('div', { class: 'clip-box' }, video);
  const reloadClip = h('button', { type: 'button', class: 'btn small', hidden: true }, t('alerts.reloadClip'));

  const chartBox = h('div', { class: 'chart-box compact' });
  const table = h('table', { class: 'readings-table' });
  const tableWrap = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': t('alerts.readingsTable') }, table);

  /** @type {import('../api.js').AlertDetail | null} */
  let detail = null;
  let destroyed = false;
  let completeTimer = 0;
  let clipVersion = 0;
  /** @type {ResizeObserver | null} */
  let ro = null;

  video.addEventListener('error', () => {
    videoBox.dataset.state = 'error';
    setText(videoNote, detail && detail.total_frames === 0 ? t('alerts.noClip') : t('alerts.clipError'));
  });
  video.addEventListener('loadedmetadata', () => {
    videoBox.dataset.state = 'ready';
    if (Number.isFinite(video.duration)) video.dataset.duration = String(video.duration);
  });

  function setClip() {
    if (!detail) return;
    clipVersion += 1;
    if (detail.total_frames === 0) {
      video.removeAttribute('src');
      videoBox.dataset.state = 'error';
      setText(videoNote, detail.recording && !detail.recording.complete ? t('alerts.clipSoon') : t('alerts.noClip'));
      return;
    }
    videoBox.dataset.state = 'loading';
    video.src = `${api.clipUrl(id)}?frames=${detail.total_frames}`;
  }

  function drawAlert() {
    const a = state.alerts.get(id) ?? detail?.alert;
    if (!a) return;
    const stored = /** @type {import('../state.js').StoredAlert} */ (a);
    setText(title, alertTitle(a.alert_type));
    fill(tags, alertTags(stored));
    tags.hidden = !tags.firstChild;
    el.dataset.critical = String(!!a.critical);
    setText(text, alertText(stored));
    const created = parseTime(a.created_at);
    setText(meta, `${cradleName(a.agent_uuid)} · ${created !== null ? `${formatWhen(created)} (${formatAgo(created)})` : ''}`);
    const resolvedAt = parseTime(a.resolved_at);
    stateLine.dataset.resolved = String(a.resolved);
    setText(
      stateLine,
      a.resolved
        ? resolvedAt !== null
          ? t('alerts.resolvedAt', { time: formatWhen(resolvedAt) })
          : t('alerts.resolved')
        : t('alerts.open'),
    );
    resolveBtn.hidden = a.resolved || !mayOperate(a.agent_uuid);
  }

  function drawReadings() {
    if (!detail) return;
    const rec = detail.recording;
    const created = parseTime(detail.alert.created_at) ?? hubNow();
    const from = parseTime(rec?.from) ?? created - 10_000;
    const to = parseTime(rec?.to) ?? created + 60_000;
    const series = new Series(from, to, 1000);
    series.add(detail.sensor_data);
    const threshold = detail.alert.alert_type === 'high_temperature' ? thresholdOf(detail) : null;
    const width = chartBox.clientWidth || 320;
    fill(chartBox, drawChart(series, { width, threshold, marker: created, compact: true }), legend());

    // One row per 5 s: temperature, crying, face.
    // Values carry forward: crying is reported every few seconds only.
    /** @type {{ms: number, temp: number | null, cry: string | null, dir: string | null}[]} */
    const rows = [];
    for (const r of detail.sensor_data) {
      const ms = parseTime(r.timestamp);
      if (ms === null) continue;
      const slot = Math.floor(ms / 5000) * 5000;
      let row = rows[rows.length - 1];
      if (!row || row.ms !== slot) {
        row = row ? { ...row, ms: slot } : { ms: slot, temp: null, cry: null, dir: null };
        rows.push(row);
      }
      if (r.temperature !== null) row.temp = r.temperature;
      if (r.crying !== null) row.cry = r.crying;
      if (r.direction !== null) row.dir = r.direction;
    }
    fill(
      table,
      h('caption', { class: 'visually-hidden' }, t('alerts.readingsTable')),
      h(
        'thead',
        {},
        h('tr', {}, h('th', { scope: 'col' }, t('alerts.colTime')), h('th', { scope: 'col' }, t('live.temperature')), h('th', { scope: 'col' }, t('live.crying')), h('th', { scope: 'col' }, t('live.face'))),
      ),
      h(
        'tbody',
        {},
        ...(rows.length
          ? rows.map((r) =>
              h(
                'tr',
                { class: Math.abs(r.ms - created) < 5000 ? 'at-alert' : '' },
                h('th', { scope: 'row' }, formatClock(r.ms)),
                h('td', {}, formatTemp(r.temp)),
                h('td', {}, cryingLabel(r.cry)),
                h('td', {}, directionLabel(directionKindOf(r.dir))),
              ),
            )
          : [h('tr', {}, h('td', { colspan: 4 }, t('chart.noData')))]),
      ),
    );
  }

  async function load() {
    try {
      detail = await api.alertDetail(id);
      if (destroyed) return;
      mergeAlerts([detail.alert], getLang());
      drawAlert();
      setClip();
      drawReadings();
      const rec = detail.recording;
      const to = parseTime(rec?.to);
      if (rec && !rec.complete && to !== null) {
        setText(videoNote, t('alerts.recordingUntil', { time: formatClock(to) }));
        window.clearTimeout(completeTimer);
        // Once, when the recording window has closed: the full clip.
        completeTimer = window.setTimeout(refreshWhenComplete, Math.max(1000, to - hubNow() + 1500));
      } else if (detail.total_frames) {
        setText(videoNote, clipNote(detail));
      }
    } catch (e) {
      if (destroyed) return;
      msg.error(e instanceof ApiError && e.status === 404 ? t('alerts.notFound') : e instanceof ApiError ? e.message : t('error.unexpected'));
    }
  }

  async function refreshWhenComplete() {
    try {
      const fresh = await api.alertDetail(id);
      if (destroyed) return;
      const grew = !detail || fresh.total_frames !== detail.total_frames;
      detail = fresh;
      drawReadings();
      setText(videoNote, clipNote(fresh));
      if (grew) {
        // Do not pull the clip from under someone watching it.
        if (video.paused && video.currentTime === 0) setClip();
        else reloadClip.hidden = false;
      }
    } catch {
      // The clip we have stays.
    }
  }
  reloadClip.addEventListener('click', () => {
    reloadClip.hidden = true;
    setClip();
  });

  resolveBtn.addEventListener('click', () =>
    busy(resolveBtn, async () => {
      const a = state.alerts.get(id) ?? detail?.alert;
      if (!a) return;
      try {
        await resolve(a);
        msg.ok(t('alerts.resolvedOk'));
      } catch (e) {
        msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
        refreshRolesOn403(e);
      }
    }),
  );

  const el = h(
    'section',
    { class: 'screen alert-detail' },
    h('a', { href: '#/alerts', class: 'back link' }, `← ${t('alerts.back')}`),
    title,
    tags,
    text,
    meta,
    stateLine,
    msg.el,
    h(
      'div',
      { class: 'detail-grid' },
      h('div', { class: 'detail-video' }, h('h2', {}, t('alerts.clip')), videoBox, h('div', { class: 'row' }, videoNote, reloadClip)),
      h('div', { class: 'detail-readings' }, h('h2', {}, t('alerts.readings')), chartBox, tableWrap),
    ),
    resolveBtn,
  );

  const offs = [on('alerts', drawAlert), on('cradles', drawAlert)];
  let lastWidth = 0;
  ro = new ResizeObserver(() => {
    if (chartBox.clientWidth !== lastWidth) {
      lastWidth = chartBox.clientWidth;
      drawReadings();
    }
  });
  ro.observe(chartBox);
  load();
  return {
    el,
    title: t('alerts.alert'),
    destroy: () => {
      destroyed = true;
      offs.forEach((f) => f());
      ro?.disconnect();
      window.clearTimeout(completeTimer);
      video.removeAttribute('src');
      video.load();
    },
  };
}

/** The limit the alert was raised against (from its message), for the chart. @param {import('../api.js').AlertDetail} d */
function thresholdOf(d) {
  const m = (d.alert.message ?? '').match(/\(\D*([\d.]+)\s*°C\)/);
  return m ? Number(m[1]) : null;
}

/** "70 frames over 1 min 10 s". @param {import('../api.js').AlertDetail} d */
function clipNote(d) {
  const from = parseTime(d.recording?.from);
  const to = parseTime(d.recording?.to);
  return t('alerts.clipFrames', { n: d.total_frames, d: formatDuration(from !== null && to !== null ? to - from : 0) });
}

