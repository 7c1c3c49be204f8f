// The inbox's unread count outside the inbox itself: on the Inbox tab, in
// the tab title ("(3) Cradle Hub") and on the installed app's icon. Read
// state is per account, on the hub: the event stream's `unread_count` tells
// every device of the account when it changes, so a notification read on
// one phone stops counting on the others. Also marks read what is read.

import { api } from './api.js';
import { t } from './i18n.js';
import { state, setUnread } from './state.js';

/** @typedef {import('./api.js').InboxItem} InboxItem */

/** Asks the hub for the count (after a read action here; the event stream tells the other devices). */
export async function refreshUnread() {
  try {
    const r = await api.unreadCount();
    if (state.loggedIn && typeof r?.unread_count === 'number') setUnread(r.unread_count);
  } catch {
    // The event stream's next count (or snapshot) corrects it.
  }
}

/** The page title with the unread count in front: "(3) Inbox · Cradle Hub". @param {string} base */
export function titleWithCount(base) {
  const n = state.loggedIn ? (state.unread ?? 0) : 0;
  return n > 0 ? `(${n}) ${base}` : base;
}

/** The Inbox tab's words for screen readers: "Inbox, 3 unread". @param {string} label */
export function navLabelWithCount(label) {
  const n = state.unread ?? 0;
  return n > 0 ? `${label}, ${t('inbox.unreadN', { n })}` : null;
}

/** What the icon shows, so an unchanged count is not set again. */
let onIcon = -1;

/**
 * The count on the installed app's icon (Badging API: Chromium on desktop
 * and Android, Safari for Home Screen apps); nothing where unsupported.
 */
export function showOnIcon() {
  const n = state.loggedIn ? (state.unread ?? 0) : 0;
  if (n === onIcon || !('setAppBadge' in navigator)) return;
  onIcon = n;
  const done = n > 0 ? navigator.setAppBadge(n) : navigator.clearAppBadge();
  // Refused when the page is not allowed to badge (not installed, some browsers): no harm.
  done.catch(() => {});
}

/** Alerts whose notification is being marked read here (the detail screen need not look it up). */
const marking = new Set();

/**
 * Marks one notification read or unread on the hub, then the count.
 * @param {InboxItem} item @param {boolean} read
 */
export async function setRead(item, read) {
  if (read) marking.add(item.alert_id);
  try {
    await api.markNotification(item.id, read);
  } finally {
    marking.delete(item.alert_id);
  }
  await refreshUnread();
}

/**
 * An alert was opened (from a push, a toast, the alert list): its inbox
 * notification is read. Only asks the hub when something is unread.
 * @param {number} alertId
 */
export async function readAlert(alertId) {
  if (!state.loggedIn || !state.unread || marking.has(alertId)) return;
  marking.add(alertId);
  try {
    // Unread ones are few, and narrowed to the alert's cradle and type when known.
    const known = state.alerts.get(alertId);
    const page = await api.notifications({ unread: true, uuid: known?.agent_uuid, type: known?.alert_type, limit: 100 });
    const item = page.items.find((n) => n.alert_id === alertId);
    if (item) {
      await api.markNotification(item.id, true);
      await refreshUnread();
    }
  } catch {
    // Still unread: the inbox shows it so.
  } finally {
    marking.delete(alertId);
  }
}
