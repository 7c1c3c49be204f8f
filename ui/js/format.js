// Numbers, times and readings in words of the UI's language.

import { getLang, t } from './i18n.js';
import { hubNow, parseTime } from './clock.js';

/** @typedef {import('./api.js').DirectionKind} DirectionKind */

function locale() {
  return getLang() === 'ko' ? 'ko-KR' : 'en-US';
}

/** @param {number | null | undefined} c */
export function formatTemp(c) {
  if (c === null || c === undefined || !Number.isFinite(c)) return '—';
  return `${c.toLocaleString(locale(), { minimumFractionDigits: 1, maximumFractionDigits: 1 })} °C`;
}

/** 3:05:12 AM / 오전 3:05:12. @param {number} ms @param {boolean} [seconds] */
export function formatClock(ms, seconds = true) {
  return new Date(ms).toLocaleTimeString(locale(), {
    hour: 'numeric',
    minute: '2-digit',
    second: seconds ? '2-digit' : undefined,
  });
}

/** "Today 3:05 AM", "Yesterday …" or a date. @param {number} ms */
export function formatWhen(ms) {
  const d = new Date(ms);
  const now = new Date();
  const day = (/** @type {Date} */ x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const diffDays = Math.round((day(now) - day(d)) / 86_400_000);
  const clock = formatClock(ms, false);
  if (diffDays === 0) return t('time.today', { time: clock });
  if (diffDays === 1) return t('time.yesterday', { time: clock });
  return `${d.toLocaleDateString(locale(), { month: 'short', day: 'numeric' })} ${clock}`;
}

/** "3:05 AM" today, else "Yesterday 3:05 AM" or a date. @param {number} ms */
export function formatAt(ms) {
  const d = new Date(ms);
  const now = new Date();
  const today = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return today ? formatClock(ms, false) : formatWhen(ms);
}

/** A day in words: "Sunday, November 22". @param {Date} d */
export function formatDay(d) {
  return d.toLocaleDateString(locale(), { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });
}

/** A duration: "45 s", "3 min 20 s", "2 h 5 min". @param {number} ms */
export function formatDuration(ms) {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return t('dur.hm', { h, m });
  if (m > 0) return sec ? t('dur.ms', { m, s: sec }) : t('dur.m', { m });
  return t('dur.s', { s: sec });
}

/** Free space in the units a disk's size is told in: "150 MB", "3.2 GB" (binary, like the hub's 200 MB limit). @param {number} bytes */
export function formatBytes(bytes) {
  const mb = bytes / 1024 ** 2;
  if (mb < 1000) return `${Math.max(0, Math.floor(mb)).toLocaleString(locale())} MB`;
  const gb = bytes / 1024 ** 3;
  return `${gb.toLocaleString(locale(), { maximumFractionDigits: gb < 100 ? 1 : 0 })} GB`;
}

/** A countdown: "12:34" (minutes and seconds, rounded up). @param {number} ms */
export function formatCountdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

/** "12 s ago" / "12초 전" against the hub's clock. @param {number} ms */
export function formatAgo(ms) {
  const diff = hubNow() - ms;
  if (diff < 2000) return t('time.justNow');
  return t('time.ago', { d: formatDuration(diff) });
}

/**
 * "5 minutes ago", "2 hours ago", "3 days ago" / "5분 전" against the hub's
 * clock; a date beyond a month. For times that may be days old.
 * @param {number} ms
 */
export function formatRelative(ms) {
  const diff = hubNow() - ms;
  if (diff < 60_000) return t('time.justNow');
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  const min = Math.floor(diff / 60_000);
  if (min < 60) return rtf.format(-min, 'minute');
  const hours = Math.floor(min / 60);
  if (hours < 24) return rtf.format(-hours, 'hour');
  const days = Math.floor(hours / 24);
  if (days < 31) return rtf.format(-days, 'day');
  return new Date(ms).toLocaleDateString(locale(), { year: 'numeric', month: 'short', day: 'numeric' });
}

/** @param {string | null | undefined} iso */
export function agoFromIso(iso) {
  const ms = parseTime(iso);
  return ms === null ? '—' : formatAgo(ms);
}

/** @param {DirectionKind | string | null | undefined} kind */
export function directionLabel(kind) {
  switch (kind) {
    case 'frontal':
      return t('dir.frontal');
    case 'left':
      return t('dir.left');
    case 'right':
      return t('dir.right');
    case 'no_face':
      return t('dir.no_face');
    case 'detector_error':
      return t('dir.detector_error');
    case 'checking':
      return t('dir.checking');
    case null:
    case undefined:
      return '—';
    default:
      return t('dir.other');
  }
}

/** The device's Korean direction strings → a kind (history rows have only the raw text). @param {string | null} raw @returns {DirectionKind | null} */
export function directionKindOf(raw) {
  if (raw === null || raw === undefined) return null;
  const s = raw.trim();
  if (s.startsWith('정면')) return 'frontal';
  if (s.startsWith('좌측')) return 'left';
  if (s.startsWith('우측')) return 'right';
  if (s === '인식 안됨') return 'no_face';
  if (s === '인식 오류') return 'detector_error';
  if (s.startsWith('확인 중')) return 'checking';
  return 'other';
}

/** @param {string | null | undefined} crying */
export function isCrying(crying) {
  return crying === 'Crying';
}

/** @param {string | null | undefined} crying */
export function cryingLabel(crying) {
  if (crying === null || crying === undefined) return '—';
  return isCrying(crying) ? t('cry.crying') : t('cry.calm');
}

/** The alert types this UI knows (others show as a plain "Alert"). */
export const ALERT_TYPES = /** @type {const} */ ([
  'high_temperature',
  'crying',
  'abnormal_position',
  'face_not_detected',
  'cradle_offline',
  'camera_silent',
  'sensor_fault',
]);

/** @param {string} type @returns {import('./api.js').AlertType | 'other'} */
export function knownAlertType(type) {
  return /** @type {readonly string[]} */ (ALERT_TYPES).includes(type) ? /** @type {import('./api.js').AlertType} */ (type) : 'other';
}

/** @param {import('./api.js').AlertType | string} type */
export function alertTitle(type) {
  const known = knownAlertType(type);
  return known === 'other' ? t('alertType.other') : t(`alertType.${known}`);
}

/** Local calendar date as YYYY-MM-DD. @param {Date} d */
export function localDateString(d) {
  const p = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}
