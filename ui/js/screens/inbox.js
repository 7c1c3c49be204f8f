// The inbox: every alert of every cradle this account can see, newest first,
// each with this account's own read state (other members read theirs).
// Filters by type and time (kept in the address, so Back from an alert
// returns to the same view), "Load more" pages down, "Mark all as read".
// Opening one opens the alert and marks it read.

import { api, ApiError } from '../api.js';
import { h, fill, setText } from '../dom.js';
import { t } from '../i18n.js';
import { hubNow, parseTime } from '../clock.js';
import { state, on, setUnread } from '../state.js';
import { busy, cradleName, messageBox, page } from '../components.js';
import { alertTitle, formatClock, formatWhen, knownAlertType } from '../format.js';
import { refreshUnread, setRead } from '../badge.js';

/** @typedef {import('../api.js').InboxItem} InboxItem */

const PAGE = 30;
/** The hub's largest page: what a refresh of the loaded items may ask for. */
const MAX_PAGE = 100;
const DAY_MS = 86_400_000;

const TYPES = /** @type {const} */ ([
  'high_temperature',
  'crying',
  'abnormal_position',
  'face_not_detected',
  'cradle_offline',
  'camera_silent',
  'sensor_fault',
]);
const PERIODS = /** @type {const} */ (['all', 'today', '7d', '30d']);
/** @typedef {typeof PERIODS[number]} Period */

/** @param {string | null} v @returns {Period} */
function periodOf(v) {
  return PERIODS.find((p) => p === v) ?? 'all';
}

/** The start of a period, for the hub's `from`. @param {Period} p @returns {string | undefined} */
function periodStart(p) {
  const now = hubNow();
  if (p === 'today') {
    const d = new Date(now);
    return new Date(d.getFullYear(), d.getMonth(), d.getDate()).toISOString();
  }
  if (p === '7d') return new Date(now - 7 * DAY_MS).toISOString();
  if (p === '30d') return new Date(now - 30 * DAY_MS).toISOString();
  return undefined;
}

/**
 * @param {URLSearchParams} query `type`, `when` (today, 7d, 30d) and `unread=1`
 * @returns {import('../app.js').Screen}
 */
export function inboxScreen(query) {
  const filter = {
    type: TYPES.find((x) => x === query.get('type')) ?? '',
    when: periodOf(query.get('when')),
    unread: query.get('unread') === '1',
  };
  /** @type {InboxItem[]} */
  let items = [];
  /** @type {number | null} */
  let nextBefore = null;
  /** @type {'loading' | 'ready' | 'error'} */
  let phase = 'loading';
  /** @type {AbortController | null} */
  let inFlight = null;
  let destroyed = false;
  let refreshTimer = 0;

  const msg = messageBox();
  const summary = h('p', { class: 'lead inbox-summary', role: 'status' }, '\u00a0');
  const list = h('ul', { class: 'inbox-list', 'aria-label': t('inbox.title'), 'aria-busy': 'true' });
  const more = h('button', { type: 'button', class: 'btn block', 'data-action': 'load-more', hidden: true }, t('inbox.more'));
  const readAll = h('button', { type: 'button', class: 'btn small', 'data-action': 'read-all' }, t('inbox.readAll'));
  const status = h('div', { class: 'inbox-status' });

  /** A row of toggle chips. @param {string} label @param {string} name @param {[string, string][]} options value, words @param {() => string} current @param {(v: string) => void} pick */
  function chips(label, name, options, current, pick) {
    const group = h('div', { class: 'chip-row', role: 'group', 'aria-label': label, 'data-filter': name });
    const draw = () => {
      for (const b of group.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.value === current()));
    };
    for (const [value, words] of options) {
      const chip = h('button', { type: 'button', class: 'chip', 'data-value': value, 'aria-pressed': 'false' }, words);
      chip.addEventListener('click', () => {
        pick(value);
        draw();
      });
      group.append(chip);
    }
    draw();
    return { group, draw };
  }

  const typeChips = chips(
    t('inbox.filterType'),
    'type',
    [['', t('inbox.allTypes')], ...TYPES.map((x) => /** @type {[string, string]} */ ([x, alertTitle(x)]))],
    () => filter.type,
    (v) => {
      filter.type = TYPES.find((x) => x === v) ?? '';
      filtersChanged();
    },
  );
  const timeChips = chips(
    t('inbox.filterTime'),
    'when',
    [
      ['all', t('inbox.whenAll')],
      ['today', t('inbox.whenToday')],
      ['7d', t('inbox.when7d')],
      ['30d', t('inbox.when30d')],
    ],
    () => filter.when,
    (v) => {
      filter.when = periodOf(v);
      filtersChanged();
    },
  );
  const unreadOnly = h('input', { type: 'checkbox', role: 'switch', name: 'unread_only', id: 'inbox-unread-only' });
  unreadOnly.checked = filter.unread;
  unreadOnly.addEventListener('change', () => {
    filter.unread = unreadOnly.checked;
    filtersChanged();
  });

  const filtered = () => filter.type !== '' || filter.when !== 'all' || filter.unread;

  /** The filters go into the address (no new history entry) and the list starts over. */
  function filtersChanged() {
    const q = new URLSearchParams();
    if (filter.type) q.set('type', filter.type);
    if (filter.when !== 'all') q.set('when', filter.when);
    if (filter.unread) q.set('unread', '1');
    const qs = q.toString();
    history.replaceState(history.state, '', `#/inbox${qs ? `?${qs}` : ''}`);
    load(true);
  }

  /** @param {boolean} reset the first page (filters changed) or the next one */
  async function load(reset) {
    if (reset) {
      inFlight?.abort();
      // Items of other filters are not shown as if they matched these.
      items = [];
      nextBefore = null;
      phase = 'loading';
      draw();
    }
    const ctl = new AbortController();
    inFlight = ctl;
    try {
      const page = await api.notifications(
        {
          unread: filter.unread || undefined,
          type: filter.type || undefined,
          from: periodStart(filter.when),
          before: reset ? undefined : (nextBefore ?? undefined),
          limit: PAGE,
        },
        ctl.signal,
      );
      if (destroyed || inFlight !== ctl) return;
      items = reset ? page.items : [...items, ...page.items.filter((n) => !items.some((m) => m.id === n.id))];
      nextBefore = page.next_before;
      if (typeof page.unread_count === 'number') setUnread(page.unread_count);
      phase = 'ready';
      msg.clear();
    } catch (e) {
      if (destroyed || inFlight !== ctl || (e instanceof DOMException && e.name === 'AbortError')) return;
      if (e instanceof ApiError && e.status === 401) return;
      phase = items.length ? 'ready' : 'error';
      msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
    } finally {
      if (inFlight === ctl) inFlight = null;
    }
    draw();
  }

  /**
   * The count changed (a new alert, or read on another device): the items
   * shown are read again, as many as are loaded, so their marks are right.
   */
  function refreshSoon() {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(async () => {
      if (destroyed || inFlight || phase === 'loading') return;
      try {
        const page = await api.notifications({
          unread: filter.unread || undefined,
          type: filter.type || undefined,
          from: periodStart(filter.when),
          limit: Math.min(MAX_PAGE, Math.max(PAGE, items.length)),
        });
        if (destroyed || inFlight) return;
        items = page.items;
        nextBefore = page.next_before;
        phase = 'ready';
        if (typeof page.unread_count === 'number') setUnread(page.unread_count);
        draw();
      } catch {
        // What is shown stays; the next change tries again.
      }
    }, 300);
  }

  /** Resolved here or elsewhere since it was listed: the alert store knows (one way). @param {InboxItem} n */
  const resolvedOf = (n) => n.resolved || state.alerts.get(n.alert_id)?.resolved === true;

  /** @param {InboxItem} n @param {boolean} read */
  async function mark(n, read) {
    const before = n.read;
    n.read = read;
    draw();
    try {
      await setRead(n, read);
    } catch (e) {
      n.read = before;
      draw();
      if (!(e instanceof ApiError && e.status === 401)) msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
    }
  }

  /** @param {InboxItem} n */
  function row(n) {
    const created = parseTime(n.created_at);
    const resolved = resolvedOf(n);
    const resolvedAt = parseTime(n.resolved_at ?? state.alerts.get(n.alert_id)?.resolved_at ?? null);
    const title = alertTitle(n.alert_type);
    const open = h('a', { class: 'alert-title stretched', href: `#/alerts/${n.alert_id}`, 'data-action': 'open' }, title);
    // Opening it reads it. Not redrawn here: a link taken out of the page
    // while it is being clicked would not navigate.
    open.addEventListener('click', () => {
      if (n.read) return;
      n.read = true;
      setRead(n, true).catch(() => {
        n.read = false;
      });
    });
    const toggle = h(
      'button',
      {
        type: 'button',
        class: 'btn small ghost inbox-toggle',
        'data-action': n.read ? 'mark-unread' : 'mark-read',
        'aria-label': t(n.read ? 'inbox.markUnreadNamed' : 'inbox.markReadNamed', { name: title }),
      },
      t(n.read ? 'inbox.markUnread' : 'inbox.markRead'),
    );
    toggle.addEventListener('click', () => mark(n, !n.read));
    return h(
      'li',
      {
        class: 'inbox-item',
        'data-id': n.id,
        'data-alert-id': n.alert_id,
        'data-type': n.alert_type,
        'data-read': String(n.read),
        'data-resolved': String(resolved),
      },
      h('span', { class: 'type-icon', 'aria-hidden': 'true' }, h('span', { class: `icon icon-type-${knownAlertType(n.alert_type)}` })),
      h(
        'div',
        { class: 'alert-body' },
        h(
          'p',
          { class: 'alert-head' },
          // Unread is said in words (and by weight and a dot), not by colour alone.
          n.read ? null : h('span', { class: 'tag unread' }, t('inbox.unread')),
          open,
        ),
        h('p', { class: 'alert-msg' }, n.message || title),
        h(
          'p',
          { class: 'alert-meta muted' },
          cradleName(n.agent_uuid),
          ' · ',
          created !== null ? h('time', { datetime: n.created_at }, formatWhen(created)) : '',
          ' · ',
          resolved
            ? h('span', { class: 'state resolved' }, resolvedAt !== null ? t('alerts.resolvedAt', { time: formatClock(resolvedAt, false) }) : t('alerts.resolved'))
            : h('span', { class: 'state open' }, t('alerts.open')),
        ),
      ),
      toggle,
    );
  }

  function draw() {
    el.dataset.state = phase;
    list.setAttribute('aria-busy', String(phase === 'loading'));
    const unread = state.unread;
    setText(
      summary,
      unread === null ? '\u00a0' : unread > 0 ? t('inbox.unreadSummary', { n: unread }) : t('inbox.allRead'),
    );
    readAll.disabled = !unread;
    more.hidden = phase !== 'ready' || nextBefore === null;
    if (phase === 'loading' && !items.length) {
      fill(status, h('p', { class: 'muted' }, t('common.loading')));
      fill(list);
      return;
    }
    if (phase === 'error') {
      const retry = h('button', { type: 'button', class: 'btn', 'data-action': 'inbox-retry' }, t('common.retry'));
      retry.addEventListener('click', () => busy(retry, () => load(true)));
      fill(status, retry);
      fill(list);
      return;
    }
    if (!items.length) {
      const showAll = filtered()
        ? h('button', { type: 'button', class: 'btn', 'data-action': 'clear-filters' }, t('inbox.showAll'))
        : null;
      showAll?.addEventListener('click', () => {
        filter.type = '';
        filter.when = 'all';
        filter.unread = false;
        unreadOnly.checked = false;
        typeChips.draw();
        timeChips.draw();
        filtersChanged();
      });
      fill(
        status,
        h(
          'div',
          { class: 'inbox-empty', 'data-empty': filtered() ? 'filtered' : 'none' },
          h('span', { class: 'icon icon-inbox', 'aria-hidden': 'true' }),
          h('p', {}, filtered() ? t('inbox.noneFiltered') : t('inbox.none')),
          filtered() ? null : h('p', { class: 'muted' }, t('inbox.noneHint')),
          showAll,
        ),
      );
      fill(list);
      return;
    }
    fill(status);
    // Redrawn whole: keep the focus on the same control of the same item.
    const focused = document.activeElement;
    const focusItem = focused instanceof HTMLElement && list.contains(focused) ? focused.closest('li')?.dataset.id : undefined;
    const focusAction = focused instanceof HTMLElement ? focused.dataset.action : undefined;
    fill(list, ...items.map(row));
    if (focusItem) {
      const li = list.querySelector(`li[data-id="${focusItem}"]`);
      const again = li?.querySelector(focusAction === 'open' ? '[data-action=open]' : '.inbox-toggle');
      if (again instanceof HTMLElement) again.focus();
    }
  }

  readAll.addEventListener('click', () =>
    busy(readAll, async () => {
      msg.clear();
      try {
        const res = await api.readAllNotifications({});
        for (const n of items) n.read = true;
        msg.ok(t('inbox.readAllDone', { n: typeof res?.updated === 'number' ? res.updated : 0 }));
        await refreshUnread();
        draw();
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
      }
    }),
  );
  more.addEventListener('click', () => busy(more, () => load(false)));

  const el = page(
    t('inbox.title'),
    'inbox',
    h(
      'div',
      { class: 'inbox-top' },
      summary,
      h('div', { class: 'row' }, readAll, h('a', { href: '#/notify', class: 'link', 'data-nav-to': 'notify' }, t('inbox.settingsLink'))),
    ),
    h(
      'div',
      { class: 'inbox-filters' },
      typeChips.group,
      timeChips.group,
      h('div', { class: 'toggle-row' }, h('label', { for: unreadOnly.id }, h('span', {}, t('inbox.unreadOnly')), unreadOnly)),
    ),
    msg.el,
    status,
    list,
    more,
  );

  const offs = [
    on('unread', () => {
      draw();
      refreshSoon();
    }),
    on('newAlert', refreshSoon),
    // Resolved elsewhere: shown as resolved.
    on('alerts', () => {
      if (phase === 'ready' && items.length) draw();
    }),
    // The stream was down: anything may have changed.
    on('reconnected', refreshSoon),
  ];
  draw();
  load(true);
  return {
    el,
    title: t('inbox.title'),
    destroy: () => {
      destroyed = true;
      inFlight?.abort();
      window.clearTimeout(refreshTimer);
      offs.forEach((f) => f());
    },
  };
}
