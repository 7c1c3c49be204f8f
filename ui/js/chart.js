// History charts drawn by the UI itself (SVG): a temperature line with the
// alert threshold, and crying / face-direction timelines. Readings are first
// folded into fixed time buckets (`Series`), so a day of readings (many
// thousands) costs a few kilobytes and can arrive in chunks.

import { h, s } from './dom.js';
import { t } from './i18n.js';
import { parseTime } from './clock.js';
import { directionKindOf, formatClock, formatTemp } from './format.js';

/** Direction kinds in a fixed order (index into the per-bucket counts). */
export const KINDS = /** @type {const} */ (['frontal', 'left', 'right', 'no_face', 'detector_error', 'checking', 'other']);

export class Series {
  /** @param {number} from ms @param {number} to ms @param {number} bucketMs */
  constructor(from, to, bucketMs) {
    this.from = from;
    this.to = to;
    this.bucketMs = bucketMs;
    this.n = Math.max(1, Math.ceil((to - from) / bucketMs));
    this.tSum = new Float64Array(this.n);
    this.tCount = new Uint32Array(this.n);
    this.tMin = new Float64Array(this.n).fill(Infinity);
    this.tMax = new Float64Array(this.n).fill(-Infinity);
    this.cry = new Uint32Array(this.n);
    this.cryCount = new Uint32Array(this.n);
    this.dir = new Uint32Array(this.n * KINDS.length);
    this.dirCount = new Uint32Array(this.n);
    this.readings = 0;
  }

  /** @param {import('./api.js').SensorRow[]} rows */
  add(rows) {
    for (const r of rows) {
      const ms = parseTime(r.timestamp);
      if (ms === null || ms < this.from || ms >= this.to) continue;
      const i = Math.floor((ms - this.from) / this.bucketMs);
      this.readings += 1;
      if (typeof r.temperature === 'number' && Number.isFinite(r.temperature)) {
        this.tSum[i] += r.temperature;
        this.tCount[i] += 1;
        if (r.temperature < this.tMin[i]) this.tMin[i] = r.temperature;
        if (r.temperature > this.tMax[i]) this.tMax[i] = r.temperature;
      }
      if (r.crying) {
        this.cryCount[i] += 1;
        if (r.crying === 'Crying') this.cry[i] += 1;
      }
      const kind = directionKindOf(r.direction);
      if (kind) {
        this.dir[i * KINDS.length + KINDS.indexOf(kind)] += 1;
        this.dirCount[i] += 1;
      }
    }
  }

  /** The most frequent direction kind of a bucket, or null. @param {number} i */
  kindAt(i) {
    if (!this.dirCount[i]) return null;
    let best = 0;
    for (let k = 1; k < KINDS.length; k++) {
      if (this.dir[i * KINDS.length + k] > this.dir[i * KINDS.length + best]) best = k;
    }
    return KINDS[best];
  }

  /** The time span that holds readings (whole buckets), or null. */
  dataRange() {
    let first = -1;
    let last = -1;
    for (let i = 0; i < this.n; i++) {
      if (this.tCount[i] || this.cryCount[i] || this.dirCount[i]) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first < 0) return null;
    return { from: this.from + first * this.bucketMs, to: this.from + (last + 1) * this.bucketMs };
  }

  /** Summary numbers for the text under the chart. */
  stats() {
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    let count = 0;
    let cryingBuckets = 0;
    let awayBuckets = 0;
    for (let i = 0; i < this.n; i++) {
      if (this.tCount[i]) {
        min = Math.min(min, this.tMin[i]);
        max = Math.max(max, this.tMax[i]);
        sum += this.tSum[i];
        count += this.tCount[i];
      }
      if (this.cry[i] * 2 >= this.cryCount[i] && this.cry[i] > 0) cryingBuckets += 1;
      const k = this.kindAt(i);
      if (k && k !== 'frontal' && k !== 'checking') awayBuckets += 1;
    }
    return {
      readings: this.readings,
      tMin: count ? min : null,
      tMax: count ? max : null,
      tAvg: count ? sum / count : null,
      cryingMs: cryingBuckets * this.bucketMs,
      awayMs: awayBuckets * this.bucketMs,
    };
  }
}

const STEPS = [
  1e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 10800e3, 21600e3, 43200e3,
];

/** @param {number} ms @param {number} step */
function tickLabel(ms, step) {
  const d = new Date(ms);
  if (step >= 3600e3) return d.toLocaleTimeString(document.documentElement.lang === 'ko' ? 'ko-KR' : 'en-US', { hour: 'numeric' });
  if (step >= 60e3) return formatClock(ms, false);
  return d.toLocaleTimeString(document.documentElement.lang === 'ko' ? 'ko-KR' : 'en-US', {
    hour: 'numeric',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
}

/**
 * Draws the chart at the given pixel width, over the series' whole span or
 * the view [o.from, o.to).
 * @param {Series} series
 * @param {{width: number, threshold?: number | null, marker?: number | null, compact?: boolean,
 *   from?: number, to?: number}} o
 * @returns {SVGElement}
 */
export function drawChart(series, o) {
  const width = Math.max(240, Math.floor(o.width));
  const padL = 40;
  const padR = 28;
  const plotW = width - padL - padR;
  const tempH = o.compact ? 110 : 160;
  const stripH = 22;
  const gap = 10;
  const top = 22;
  const cryY = top + tempH + gap + 4;
  const dirY = cryY + stripH + 6;
  const axisY = dirY + stripH + 4;
  const height = axisY + 20;
  const from = o.from ?? series.from;
  const to = o.to ?? series.to;
  const x = (/** @type {number} */ ms) => padL + ((ms - from) / (to - from)) * plotW;
  // Buckets inside the view.
  const iFrom = Math.max(0, Math.floor((from - series.from) / series.bucketMs));
  const iTo = Math.min(series.n, Math.ceil((to - series.from) / series.bucketMs));

  const st = series.stats();
  // Y range: the data and the threshold, padded, at least 2 °C tall.
  let lo = st.tMin ?? 35;
  let hi = st.tMax ?? 38;
  if (typeof o.threshold === 'number') {
    lo = Math.min(lo, o.threshold);
    hi = Math.max(hi, o.threshold);
  }
  lo = Math.floor((lo - 0.3) * 2) / 2;
  hi = Math.ceil((hi + 0.3) * 2) / 2;
  if (hi - lo < 2) {
    const mid = (hi + lo) / 2;
    lo = Math.floor(mid - 1);
    hi = lo + 2;
  }
  const y = (/** @type {number} */ c) => top + tempH - ((c - lo) / (hi - lo)) * tempH;

  const svg = s('svg', {
    class: 'chart',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': chartSummary(st),
  });

  // Grid and y labels
  const span = hi - lo;
  const maxLabels = o.compact ? 4 : 6;
  const yStep = [0.5, 1, 2, 5, 10].find((st2) => span / st2 <= maxLabels) ?? 10;
  for (let c = Math.ceil(lo / yStep) * yStep; c <= hi + 1e-9; c += yStep) {
    svg.append(s('line', { class: 'grid', x1: padL, x2: width - padR, y1: y(c), y2: y(c) }));
    svg.append(s('text', { class: 'axis', x: padL - 6, y: y(c) + 4, 'text-anchor': 'end' }, c.toFixed(yStep < 1 ? 1 : 0)));
  }
  svg.append(s('text', { class: 'axis unit', x: padL - 6, y: top - 10, 'text-anchor': 'end' }, '°C'));

  // X ticks: the smallest step that leaves room for the labels.
  const minPx = o.compact ? 56 : 70;
  const step = STEPS.find((st2) => (st2 / (to - from)) * plotW >= minPx) ?? STEPS[STEPS.length - 1];
  const tz = new Date(from).getTimezoneOffset() * 60e3;
  for (let ms = Math.ceil((from - tz) / step) * step + tz; ms <= to; ms += step) {
    const xx = x(ms);
    svg.append(s('line', { class: 'grid faint', x1: xx, x2: xx, y1: top, y2: axisY - 4 }));
    svg.append(s('text', { class: 'axis', x: xx, y: axisY + 12, 'text-anchor': 'middle' }, tickLabel(ms, step)));
  }

  // Threshold
  if (typeof o.threshold === 'number') {
    const ty = y(o.threshold);
    svg.append(s('line', { class: 'threshold', x1: padL, x2: width - padR, y1: ty, y2: ty }));
    svg.append(
      s('text', { class: 'axis threshold-label', x: width - padR - 2, y: ty - 4, 'text-anchor': 'end' }, t('chart.limit', { t: formatTemp(o.threshold) })),
    );
  }

  // Buckets are merged into groups at least 2 px wide.
  const bw = series.bucketMs;
  const g = Math.max(1, Math.ceil(2 / ((plotW * bw) / (to - from))));
  /** @type {{x0: number, x1: number, mid: number, tCount: number, tSum: number, tMin: number, tMax: number, cry: string | null, kind: string | null}[]} */
  const groups = [];
  const kindCounts = new Uint32Array(KINDS.length);
  for (let i = iFrom; i < iTo; i += g) {
    const j = Math.min(i + g, iTo);
    let tCount = 0;
    let tSum = 0;
    let tMin = Infinity;
    let tMax = -Infinity;
    let cryCount = 0;
    let cry = 0;
    kindCounts.fill(0);
    let dirCount = 0;
    for (let k = i; k < j; k++) {
      tCount += series.tCount[k];
      tSum += series.tSum[k];
      if (series.tCount[k]) {
        tMin = Math.min(tMin, series.tMin[k]);
        tMax = Math.max(tMax, series.tMax[k]);
      }
      cryCount += series.cryCount[k];
      cry += series.cry[k];
      dirCount += series.dirCount[k];
      for (let q = 0; q < KINDS.length; q++) kindCounts[q] += series.dir[k * KINDS.length + q];
    }
    let best = 0;
    for (let q = 1; q < KINDS.length; q++) if (kindCounts[q] > kindCounts[best]) best = q;
    const t0 = Math.max(from, series.from + i * bw);
    const t1 = Math.min(to, series.from + j * bw);
    groups.push({
      x0: x(t0),
      x1: x(t1),
      mid: (t0 + t1) / 2,
      tCount,
      tSum,
      tMin,
      tMax,
      cry: cryCount ? (cry > 0 ? 'cry-on' : 'cry-off') : null,
      kind: dirCount ? `dir-${KINDS[best]}` : null,
    });
  }

  // Temperature: min–max band and average line, broken where readings
  // stopped for a while (not between sparse readings).
  const gapMs = Math.max(120e3, 3 * g * bw);
  let line = '';
  let band = '';
  let lastMs = -Infinity;
  let points = 0;
  let dot = { cx: 0, cy: 0 };
  for (const gr of groups) {
    if (!gr.tCount) continue;
    const mx = (gr.x0 + gr.x1) / 2;
    const my = y(gr.tSum / gr.tCount);
    line += `${gr.mid - lastMs > gapMs ? 'M' : 'L'}${mx.toFixed(1)} ${my.toFixed(1)}`;
    lastMs = gr.mid;
    points += 1;
    dot = { cx: mx, cy: my };
    if (y(gr.tMin) - y(gr.tMax) > 1) band += `M${mx.toFixed(1)} ${y(gr.tMin).toFixed(1)}V${y(gr.tMax).toFixed(1)}`;
  }
  if (band) svg.append(s('path', { class: 'temp-band', d: band }));
  if (line) svg.append(s('path', { class: 'temp-line', d: line }));
  if (points === 1) svg.append(s('circle', { class: 'temp-dot', cx: dot.cx, cy: dot.cy, r: 3 }));

  // Strips: background = no data; merged runs of crying / direction kinds.
  svg.append(s('text', { class: 'axis strip-label', x: padL - 6, y: cryY + 15, 'text-anchor': 'end' }, t('chart.cryShort')));
  svg.append(s('text', { class: 'axis strip-label', x: padL - 6, y: dirY + 15, 'text-anchor': 'end' }, t('chart.faceShort')));
  svg.append(s('rect', { class: 'strip-bg', x: padL, y: cryY, width: plotW, height: stripH, rx: 4 }));
  svg.append(s('rect', { class: 'strip-bg', x: padL, y: dirY, width: plotW, height: stripH, rx: 4 }));
  /** @param {number} yy @param {(gr: typeof groups[number]) => string | null} classOf */
  const runs = (yy, classOf) => {
    let i = 0;
    while (i < groups.length) {
      const cls = classOf(groups[i]);
      let j = i + 1;
      while (j < groups.length && classOf(groups[j]) === cls) j++;
      if (cls) {
        const x0 = groups[i].x0;
        const x1 = groups[j - 1].x1;
        svg.append(s('rect', { class: cls, x: x0, y: yy, width: Math.max(1, x1 - x0), height: stripH }));
      }
      i = j;
    }
  };
  runs(cryY, (gr) => gr.cry);
  runs(dirY, (gr) => gr.kind);

  if (typeof o.marker === 'number' && o.marker >= from && o.marker <= to) {
    const mx = x(o.marker);
    svg.append(s('line', { class: 'marker', x1: mx, x2: mx, y1: top, y2: axisY - 4 }));
  }
  return svg;
}

/** @param {ReturnType<Series['stats']>} st */
export function chartSummary(st) {
  if (!st.readings) return t('chart.noData');
  return t('chart.summary', {
    min: formatTemp(st.tMin),
    max: formatTemp(st.tMax),
  });
}

/** The legend under a chart (HTML so it wraps on narrow screens): [css class, label]. @returns {[string, string][]} */
export function legendItems() {
  return [
    ['temp-line', t('chart.temperature')],
    ['threshold', t('chart.threshold')],
    ['cry-on', t('chart.crying')],
    ['dir-frontal', t('dir.frontal')],
    ['dir-left', t('chart.turned')],
    ['dir-no_face', t('dir.no_face')],
    ['nodata', t('chart.noDataShort')],
  ];
}

/** The legend as an HTML list. */
export function legend() {
  return h(
    'ul',
    { class: 'legend' },
    ...legendItems().map(([cls, label]) => h('li', {}, h('span', { class: `swatch ${cls}`, 'aria-hidden': 'true' }), label)),
  );
}
