// A friendly name for a signed-in device, from its browser's User-Agent:
// "Chrome on Android", "Safari on iPhone", "Cradle Hub app". Unknown ones
// fall back to the start of the raw string.

import { t } from './i18n.js';

/** How many characters of an unrecognised User-Agent are shown. */
const RAW_MAX = 40;

/** @param {string} ua @returns {string | null} */
function osOf(ua) {
  if (/iPhone/.test(ua)) return 'iPhone';
  if (/iPad/.test(ua)) return 'iPad';
  if (/iPod/.test(ua)) return 'iPod';
  if (/Android/.test(ua)) return 'Android';
  if (/Windows/.test(ua)) return 'Windows';
  if (/CrOS/.test(ua)) return 'ChromeOS';
  if (/Macintosh|Mac OS X/.test(ua)) return 'Mac';
  if (/Linux|X11|FreeBSD|OpenBSD/.test(ua)) return 'Linux';
  return null;
}

/** @param {string} ua @returns {string | null} */
function browserOf(ua) {
  if (/Edg(e|A|iOS)?\//.test(ua)) return 'Edge';
  if (/OPR\/|Opera/.test(ua)) return 'Opera';
  if (/SamsungBrowser\//.test(ua)) return 'Samsung Internet';
  if (/Whale\//.test(ua)) return 'Whale';
  if (/Firefox\/|FxiOS\//.test(ua)) return 'Firefox';
  if (/CriOS\/|Chrome\/|Chromium\//.test(ua)) return 'Chrome';
  if (/Safari\//.test(ua) && /Version\//.test(ua)) return 'Safari';
  // iOS apps' web views (no "Safari/" token) are Safari's engine.
  if (/(iPhone|iPad|iPod).*AppleWebKit\//.test(ua)) return 'Safari';
  return null;
}

/**
 * @param {string | null | undefined} ua the User-Agent the device signed in with
 * @returns {string}
 */
export function deviceName(ua) {
  const s = (ua ?? '').trim();
  if (!s) return t('devices.unknown');
  // The desktop app (Tauri) and any client of ours that says so.
  if (/cradle[ _-]?hub|tauri/i.test(s)) {
    const os = osOf(s);
    return os ? t('devices.on', { browser: t('devices.app'), os }) : t('devices.app');
  }
  const browser = browserOf(s);
  const os = osOf(s);
  if (browser && os) return t('devices.on', { browser, os });
  if (browser) return browser;
  if (os && /Mozilla\//.test(s)) return t('devices.on', { browser: t('devices.browser'), os });
  return s.length > RAW_MAX ? `${s.slice(0, RAW_MAX - 1)}…` : s;
}

/** An IP address as people read it: IPv4 inside IPv6 (::ffff:1.2.3.4) shown plain. @param {string} ip */
export function plainIp(ip) {
  return ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
}
