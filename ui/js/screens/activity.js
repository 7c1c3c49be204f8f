// The cradle's activity log, on its page: who rocked it, resolved an alert,
// changed settings, invited, joined, left… newest first, a page at a time.
// The first page is read again when something happened here (the cradle
// started or stopped rocking, an alert was resolved); new lines go on top
// and the pages already loaded stay.

import { api, ApiError } from '../api.js';
import { h, fill, setText } from '../dom.js';
import { t } from '../i18n.js';
import { parseTime } from '../clock.js';
import { state, on } from '../state.js';
import { formatRelative, formatWhen, alertTitle } from '../format.js';
import { roleWord } from './members.js';

/** @typedef {import('../api.js').ActivityItem} ActivityItem */

/** Lines per page. */
const PAGE = 10;

/**
 * What the hub put in `detail` (an object; a JSON string from an older
 * build is read too).
 * @param {ActivityItem} item
 * @returns {Record<string, unknown>}
 */
function detailOf(item) {
  let d = item.detail;
  if (typeof d === 'string') {
    try {
      d = JSON.parse(d);
    } catch {
      return {};
    }
  }
  return d && typeof d === 'object' ? /** @type {Record<string, unknown>} */ (d) : {};
}

/** @param {unknown} v */
const str = (v) => (typeof v === 'string' ? v : '');

/**
 * One line in words: "Mina rocked the cradle".
 * @param {ActivityItem} item
 * @param {Map<number, string>} names user ids of the cradle's members → names: the log names
 *   whom a change was about by id only
 */
export function activityText(item, names) {
  const d = detailOf(item);
  const name = item.username ?? (item.user_id === null ? t('activity.theHub') : t('activity.someone'));
  const targetId = typeof d.to_user_id === 'number' ? d.to_user_id : typeof d.user_id === 'number' ? d.user_id : null;
  const target = (targetId !== null ? names.get(targetId) : undefined) ?? t('activity.someone');
  // "role" of an invite or a join, "to" of a role change.
  const role = str(d.role) || str(d.to);
  const vars = { name, target, role: role ? roleWord(role) : '' };
  switch (item.action) {
    case 'rocked':
      return t('activity.rocked', vars);
    case 'stopped':
      return t('activity.stopped', vars);
    case 'resolved': {
      const type = str(d.alert_type);
      return type ? t('activity.resolvedType', { ...vars, type: alertTitle(type) }) : t('activity.resolved', vars);
    }
    case 'settings_changed':
      return t('activity.settingsChanged', vars);
    case 'invited':
      return role ? t('activity.invitedAs', vars) : t('activity.invited', vars);
    case 'invite_revoked':
      return t('activity.inviteRevoked', vars);
    case 'joined':
      return role ? t('activity.joinedAs', vars) : t('activity.joined', vars);
    case 'role_changed':
      return t('activity.roleChanged', vars);
    case 'ownership_transferred':
      return t('activity.ownershipTransferred', vars);
    case 'removed':
      return t('activity.removed', vars);
    case 'left':
      return t('activity.left', vars);
    case 'lan_app_view_changed':
      return d.enabled === true ? t('activity.lanViewOn', vars) : t('activity.lanViewOff', vars);
    default:
      return t('activity.other', { name, action: item.action });
  }
}

/** @param {ActivityItem} item @param {Map<number, string>} names */
function line(item, names) {
  const ms = parseTime(item.at);
  return h(
    'li',
    { class: 'activity-item', 'data-id': item.id, 'data-action': item.action },
    h('span', { class: 'activity-text' }, activityText(item, names)),
    ms === null ? null : h('span', { class: 'activity-when' }, ' · ', h('time', { datetime: item.at, title: formatWhen(ms) }, formatRelative(ms))),
  );
}

/**
 * The selected cradle's activity log as a card.
 * @returns {{el: HTMLElement, destroy: () => void}}
 */
export function activityCard() {
  const list = h('ol', { class: 'activity-list', 'aria-labelledby': 'activity-h' });
  const status = h('p', { class: 'hint', role: 'status' });
  const more = h('button', { type: 'button', class: 'btn block', 'data-action': 'activity-more', hidden: true }, t('activity.more'));
  const el = h(
    'section',
    { class: 'card activity-card', 'aria-labelledby': 'activity-h' },
    h('h2', { id: 'activity-h' }, t('activity.title')),
    status,
    list,
    more,
  );

  /** @type {ActivityItem[]} newest first */
  let items = [];
  /** @type {number | null} */
  let nextBefore = null;
  /** @type {string | null} */
  let shownFor = null;
  let seq = 0;
  let refreshTimer = 0;
  /** Names of the people lines are about (the members; also whoever did something here). */
  const names = new Map();

  function draw() {
    list.dataset.loaded = 'true';
    setText(status, items.length ? '' : t('activity.empty'));
    for (const i of items) if (i.user_id !== null && i.username) names.set(i.user_id, i.username);
    fill(list, ...items.map((i) => line(i, names)));
    more.hidden = nextBefore === null;
  }

  /** The first page again; new lines go on top of the ones loaded. */
  async function loadFirst() {
    const uuid = state.selected;
    const mine = ++seq;
    if (!uuid) return;
    try {
      const [page, members] = await Promise.all([api.activity(uuid, null, PAGE), api.members(uuid).catch(() => [])]);
      if (mine !== seq || uuid !== state.selected) return;
      for (const m of members) names.set(m.user_id, m.username);
      const top = shownFor === uuid ? items[0]?.id ?? 0 : null;
      const fresh = page.items.filter((i) => top === null || i.id > top);
      if (top === null || fresh.length === page.items.length) {
        // A new cradle, or more new lines than a page: start over.
        items = page.items;
        nextBefore = page.next_before;
      } else {
        items = [...fresh, ...items];
      }
      shownFor = uuid;
      draw();
    } catch (e) {
      if (mine !== seq) return;
      setText(status, e instanceof ApiError ? e.message : t('activity.loadError'));
    }
  }

  more.addEventListener('click', async () => {
    const uuid = state.selected;
    if (!uuid || nextBefore === null) return;
    const mine = ++seq;
    more.disabled = true;
    try {
      const page = await api.activity(uuid, nextBefore, PAGE);
      if (mine !== seq || uuid !== state.selected) return;
      const known = new Set(items.map((i) => i.id));
      items = [...items, ...page.items.filter((i) => !known.has(i.id))];
      nextBefore = page.next_before;
      draw();
    } catch (e) {
      if (mine === seq) setText(status, e instanceof ApiError ? e.message : t('activity.loadError'));
    } finally {
      more.disabled = false;
    }
  });

  /** Soon, once: the hub writes the log line just after the change. */
  function refreshSoon() {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(loadFirst, 800);
  }

  /** @type {boolean | null} */
  let rocking = state.statuses.get(state.selected ?? '')?.rocking ?? null;
  let resolved = resolvedCount();
  function resolvedCount() {
    let n = 0;
    for (const a of state.alerts.values()) if (a.resolved && a.agent_uuid === state.selected) n += 1;
    return n;
  }
  const offs = [
    on('selected', () => {
      items = [];
      names.clear();
      nextBefore = null;
      shownFor = null;
      fill(list);
      delete list.dataset.loaded;
      more.hidden = true;
      setText(status, t('common.loading'));
      rocking = state.statuses.get(state.selected ?? '')?.rocking ?? null;
      resolved = resolvedCount();
      loadFirst();
    }),
    on('status', (uuid) => {
      if (uuid !== state.selected) return;
      const now = state.statuses.get(uuid)?.rocking ?? null;
      if (now !== rocking) {
        rocking = now;
        refreshSoon();
      }
    }),
    on('alerts', () => {
      const n = resolvedCount();
      if (n > resolved) refreshSoon();
      resolved = n;
    }),
  ];
  // "2 minutes ago" grows older.
  const ticker = window.setInterval(() => {
    if (shownFor) draw();
  }, 60_000);
  setText(status, t('common.loading'));
  loadFirst();
  return {
    el,
    destroy: () => {
      seq += 1;
      window.clearTimeout(refreshTimer);
      window.clearInterval(ticker);
      offs.forEach((f) => f());
    },
  };
}
