// History of one day (the device's local day): temperature chart, crying
// and face-direction timelines drawn here from /api/sensor_data, and the
// minutes that have recordings (/api/recordings → play /api/video).

import { api, ApiError } from '../api.js';
import { h, fill, setText } from '../dom.js';
import { t } from '../i18n.js';
import { hubNow, parseTime } from '../clock.js';
import { state, on } from '../state.js';
import { cradleName, cradleSwitcher, messageBox, page } from '../components.js';
import { Series, drawChart, legend } from '../chart.js';
import { formatClock, formatDay, formatDuration, formatTemp, localDateString } from '../format.js';
import { go } from '../nav.js';

const HOUR = 3600e3;
/** Finished days already folded into buckets, per cradle. */
const dayCache = new Map();

/** @param {string | null} day YYYY-MM-DD or null for today @returns {Date} local midnight */
function dayStart(day) {
  const m = day && /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (m) return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}

/** @param {Date} d @param {number} n */
function addDays(d, n) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
}

/** @param {number} ms */
function utcDate(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * @param {string | null} dayParam
 * @returns {import('../app.js').Screen}
 */
export function historyScreen(dayParam) {
  const start = dayStart(dayParam);
  const end = addDays(start, 1);
  const today = dayStart(null);
  const isToday = start.getTime() === today.getTime();
  const switcher = cradleSwitcher();
  const msg = messageBox();

  // Day picker
  const dateInput = h('input', { type: 'date', value: localDateString(start), max: localDateString(today), 'aria-label': t('history.pickDay') });
  dateInput.addEventListener('change', () => {
    if (dateInput.value) go(`#/history?day=${dateInput.value}`);
  });
  const prev = h('a', { class: 'btn icon-only', href: `#/history?day=${localDateString(addDays(start, -1))}`, 'aria-label': t('history.prevDay') }, '‹');
  const next = isToday
    ? h('span', { class: 'btn icon-only disabled', 'aria-hidden': 'true' }, '›')
    : h('a', { class: 'btn icon-only', href: `#/history?day=${localDateString(addDays(start, 1))}`, 'aria-label': t('history.nextDay') }, '›');
  const picker = h(
    'div',
    { class: 'day-picker' },
    prev,
    h('div', { class: 'day-label' }, h('strong', {}, isToday ? t('history.today') : formatDay(start)), dateInput),
    next,
  );

  // Chart
  const progress = h('p', { class: 'hint', role: 'status', 'aria-live': 'polite' }, '\u00a0');
  const chartBox = h('div', { class: 'chart-box' });
  const stats = h('dl', { class: 'stats' });
  // Zoom: the hours that hold readings (default) or the whole day.
  let wholeDay = false;
  const zoomData = h('button', { type: 'button', class: 'chip', 'aria-pressed': 'true' }, t('history.zoomData'));
  const zoomDay = h('button', { type: 'button', class: 'chip', 'aria-pressed': 'false' }, t('history.zoomDay'));
  /** @param {boolean} v */
  const setZoom = (v) => {
    wholeDay = v;
    zoomData.setAttribute('aria-pressed', String(!v));
    zoomDay.setAttribute('aria-pressed', String(v));
    draw();
  };
  zoomData.addEventListener('click', () => setZoom(false));
  zoomDay.addEventListener('click', () => setZoom(true));
  const zoom = h('div', { class: 'lang-switch', role: 'group', 'aria-label': t('history.zoom') }, zoomData, zoomDay);
  const chartCard = h('section', { class: 'card', 'aria-labelledby': 'hist-chart-h' }, h('h2', { id: 'hist-chart-h' }, t('history.readings')), zoom, progress, chartBox, legend(), stats);

  // Recordings
  const recList = h('ul', { class: 'rec-list', 'aria-labelledby': 'hist-rec-h' });
  const player = h('video', { class: 'clip', controls: true, playsinline: true, preload: 'metadata', muted: true, hidden: true });
  const playerCaption = h('p', { class: 'hint', 'aria-live': 'polite' }, '');
  player.addEventListener('error', () => {
    if (player.getAttribute('src')) setText(playerCaption, t('history.videoError'));
  });
  const recCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'hist-rec-h' },
    h('h2', { id: 'hist-rec-h' }, t('history.recordings')),
    h('p', { class: 'muted' }, t('history.recordingsHint')),
    player,
    playerCaption,
    recList,
  );

  /** @type {AbortController | null} */
  let ctl = null;
  /** @type {Series | null} */
  let series = null;
  /** @type {number | null} */
  let threshold = null;
  let raf = 0;

  function drawNow() {
    raf = 0;
    if (!series) {
      fill(chartBox);
      return;
    }
    const width = chartBox.clientWidth || 320;
    /** @type {{from?: number, to?: number}} */
    let view = {};
    const range = series.dataRange();
    if (!wholeDay && range) {
      // Around the readings, on round times: quarter hours for a short
      // stretch, hours for a long one; at least half an hour.
      const unit = range.to - range.from < 2 * HOUR ? HOUR / 4 : HOUR;
      const tz = start.getTimezoneOffset() * 60e3;
      const from = Math.floor((range.from - tz) / unit) * unit + tz;
      const to = Math.max(Math.ceil((range.to - tz) / unit) * unit + tz, from + HOUR / 2);
      view = { from: Math.max(series.from, from), to: Math.min(series.to, to) };
    }
    fill(chartBox, drawChart(series, { width, threshold, ...view }));
    const st = series.stats();
    /** @param {string} k @param {string} v */
    const stat = (k, v) => h('div', {}, h('dt', {}, k), h('dd', {}, v));
    fill(
      stats,
      stat(t('history.lowest'), formatTemp(st.tMin)),
      stat(t('history.highest'), formatTemp(st.tMax)),
      stat(t('history.cryingTime'), st.readings ? formatDuration(st.cryingMs) : '—'),
      stat(t('history.awayTime'), st.readings ? formatDuration(st.awayMs) : '—'),
    );
  }
  const draw = () => {
    if (!raf) raf = requestAnimationFrame(drawNow);
  };

  async function loadReadings() {
    const uuid = state.selected;
    ctl?.abort();
    series = null;
    draw();
    if (!uuid) return;
    const c = new AbortController();
    ctl = c;
    const key = `${uuid}|${start.getTime()}`;
    const cached = dayCache.get(key);
    if (cached) {
      series = cached;
      setText(progress, '\u00a0');
      draw();
      return;
    }
    const s = new Series(start.getTime(), end.getTime(), 10e3);
    series = s;
    const now = hubNow();
    /** @type {number[]} */
    const hours = [];
    for (let ms = start.getTime(); ms < end.getTime() && ms <= now; ms += HOUR) hours.push(ms);
    let done = 0;
    setText(progress, t('history.loading', { done: 0, total: hours.length }));
    // A day can hold ~100 000 readings an hour: fetch hour by hour, two at a time.
    const queue = [...hours];
    const worker = async () => {
      while (queue.length && !c.signal.aborted) {
        const from = /** @type {number} */ (queue.shift());
        const to = Math.min(from + HOUR, end.getTime()) - 1;
        const rows = await api.sensorData(uuid, new Date(from), new Date(to), c.signal);
        if (c.signal.aborted) return;
        s.add(rows);
        done += 1;
        setText(progress, done < hours.length ? t('history.loading', { done, total: hours.length }) : '\u00a0');
        draw();
      }
    };
    try {
      await Promise.all([worker(), worker()]);
      if (c.signal.aborted) return;
      if (!s.readings) setText(progress, t('history.noReadings'));
      if (end.getTime() <= now) dayCache.set(key, s);
    } catch (e) {
      if (c.signal.aborted) return;
      msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
      setText(progress, '\u00a0');
    }
  }

  async function loadRecordings() {
    const uuid = state.selected;
    fill(recList, h('li', { class: 'muted' }, t('common.loading')));
    player.hidden = true;
    player.removeAttribute('src');
    setText(playerCaption, '');
    if (!uuid) return;
    // The API's days are UTC: a local day touches one or two of them.
    const dates = [...new Set([utcDate(start.getTime()), utcDate(end.getTime() - 1)])];
    try {
      const lists = await Promise.all(dates.map((d) => api.recordings(uuid, d, ctl?.signal)));
      if (uuid !== state.selected) return;
      const recs = lists
        .flat()
        .map((r) => ({ r, ms: parseTime(r.start) ?? parseTime(`${r.date}T${r.time}`) }))
        .filter((x) => x.ms !== null && x.ms >= start.getTime() && x.ms < end.getTime())
        .sort((a, b) => /** @type {number} */ (a.ms) - /** @type {number} */ (b.ms));
      if (!recs.length) {
        fill(recList, h('li', { class: 'muted empty' }, t('history.noRecordings')));
        return;
      }
      fill(
        recList,
        ...recs.map(({ r, ms }) => {
          const label = formatClock(/** @type {number} */ (ms), false);
          const btn = h(
            'button',
            {
              type: 'button',
              class: 'chip rec',
              'aria-pressed': 'false',
              'aria-label': t('history.recordingAt', { time: label, n: r.frames }),
            },
            label,
          );
          btn.addEventListener('click', () => {
            for (const b of recList.querySelectorAll('[aria-pressed="true"]')) b.setAttribute('aria-pressed', 'false');
            btn.setAttribute('aria-pressed', 'true');
            player.hidden = false;
            player.src = api.videoUrl(uuid, r.date, r.time);
            setText(playerCaption, t('history.playing', { time: label }));
            player.play().catch(() => {});
          });
          return h('li', {}, btn);
        }),
      );
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') return;
      fill(recList, h('li', { class: 'muted' }, e instanceof ApiError ? e.message : t('error.unexpected')));
    }
  }

  async function loadThreshold() {
    const uuid = state.selected;
    if (!uuid) return;
    try {
      threshold = (await api.settings(uuid)).max_temperature;
      draw();
    } catch {
      threshold = null;
    }
  }

  function loadAll() {
    threshold = null;
    loadReadings();
    loadRecordings();
    loadThreshold();
  }

  let lastWidth = 0;
  const ro = new ResizeObserver(() => {
    if (chartBox.clientWidth !== lastWidth) {
      lastWidth = chartBox.clientWidth;
      draw();
    }
  });
  ro.observe(chartBox);
  const off = on('selected', loadAll);
  loadAll();

  const el = page(
    t('history.title'),
    'history',
    switcher.el,
    picker,
    msg.el,
    h('div', { class: 'history-grid' }, chartCard, recCard),
  );
  el.dataset.cradle = state.selected ? cradleName(state.selected) : '';
  return {
    el,
    title: t('history.title'),
    destroy: () => {
      ctl?.abort();
      ro.disconnect();
      off();
      switcher.destroy();
      if (raf) cancelAnimationFrame(raf);
      player.removeAttribute('src');
    },
  };
}
