// Settings cards for the account itself: the devices signed in to it (sign
// one out, or all but this one) and changing its password (which signs out
// every other device).

import { api, ApiError } from '../api.js';
import { h, fill, setText, uid } from '../dom.js';
import { t } from '../i18n.js';
import { state } from '../state.js';
import { parseTime } from '../clock.js';
import { busy, field, messageBox } from '../components.js';
import { formatRelative, formatWhen } from '../format.js';
import { deviceName, plainIp } from '../devices.js';

/** @typedef {import('../api.js').Session} Session */

/** How often "last active 5 minutes ago" is worded again while the screen is open. */
const RETELL_MS = 30_000;

/**
 * "Signed-in devices": one row per session, this device first and marked,
 * the others each with a Sign out button; "Sign out all other devices"
 * asks first.
 * @returns {{el: HTMLElement, reload: () => Promise<void>, destroy: () => void}}
 */
export function devicesCard() {
  /** @type {Session[] | null} null until the first answer */
  let sessions = null;
  /** @type {'loading' | 'error' | 'ready'} */
  let phase = 'loading';
  let loadError = '';
  let confirming = false;
  let destroyed = false;
  /** Answers to older requests are dropped. */
  let seq = 0;

  const msg = messageBox();
  const status = h('div', { class: 'devices-status', role: 'status' });
  const list = h('ul', { class: 'device-list', 'aria-labelledby': 'set-devices-h' });
  const only = h('p', { class: 'devices-only muted', hidden: true }, t('devices.onlyThis'));

  const othersBtn = h('button', { type: 'button', class: 'btn block ghost-danger', 'data-action': 'end-others', hidden: true }, t('devices.signOutOthers'));
  const confirmId = uid('devices-confirm');
  const confirmText = h('p', { id: confirmId }, '');
  const yes = h('button', { type: 'button', class: 'btn danger', 'data-action': 'confirm-end-others' }, t('devices.othersYes'));
  const no = h('button', { type: 'button', class: 'btn', 'data-action': 'cancel-end-others' }, t('common.cancel'));
  const confirmBox = h(
    'div',
    { class: 'confirm devices-confirm', role: 'alertdialog', 'aria-labelledby': confirmId, hidden: true },
    confirmText,
    h('div', { class: 'row' }, yes, no),
  );

  const el = h(
    'section',
    { class: 'card devices-card', 'aria-labelledby': 'set-devices-h', 'data-state': 'loading' },
    h('h2', { id: 'set-devices-h' }, t('devices.title')),
    h('p', { class: 'hint' }, t('devices.intro')),
    status,
    list,
    only,
    msg.el,
    othersBtn,
    confirmBox,
  );

  const others = () => (sessions ?? []).filter((s) => !s.current);

  /** @param {Session} s */
  function row(s) {
    const name = deviceName(s.user_agent);
    const created = parseTime(s.created_at);
    const seen = parseTime(s.last_seen_at);
    const meta = h(
      'span',
      { class: 'device-meta' },
      s.ip ? h('span', { class: 'device-ip' }, t('devices.from', { ip: plainIp(s.ip) })) : null,
      created !== null ? h('span', { class: 'device-since' }, t('devices.signedIn', { when: formatWhen(created) })) : null,
      seen !== null ? h('span', { class: 'device-seen', 'data-seen': seen }, t('devices.lastActive', { when: formatRelative(seen) })) : null,
    );
    const info = h(
      'div',
      { class: 'device-info' },
      h(
        'span',
        { class: 'device-name' },
        h('span', { title: s.user_agent ?? '' }, name),
        s.current ? h('span', { class: 'tag this-device' }, t('devices.thisDevice')) : null,
      ),
      meta,
    );
    /** @type {HTMLButtonElement | null} */
    let end = null;
    if (!s.current) {
      const btn = h('button', { type: 'button', class: 'btn ghost-danger', 'data-action': 'end-session', 'aria-label': t('devices.signOutNamed', { name }) }, t('devices.signOut'));
      btn.addEventListener('click', () =>
        busy(btn, async () => {
          msg.clear();
          try {
            await api.endSession(s.id);
            msg.ok(t('devices.signedOutOne', { name }));
          } catch (e) {
            if (e instanceof ApiError && e.status === 404) msg.info(t('devices.gone'));
            else if (e instanceof ApiError && e.status === 401) return;
            else msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
          }
          await reload();
          othersBtn.focus();
        }),
      );
      end = btn;
    }
    return h('li', { class: 'device', 'data-session-id': s.id, 'data-current': String(s.current) }, info, end);
  }

  function draw() {
    el.dataset.state = phase;
    if (phase === 'loading' && sessions === null) {
      fill(status, h('p', { class: 'muted' }, t('common.loading')));
    } else if (phase === 'error') {
      const retry = h('button', { type: 'button', class: 'btn', 'data-action': 'devices-retry' }, t('common.retry'));
      retry.addEventListener('click', () => busy(retry, reload));
      fill(status, h('div', { class: 'msg error', role: 'alert' }, t('devices.loadError'), loadError ? ` ${loadError}` : ''), retry);
    } else {
      fill(status);
    }
    const rows = sessions ?? [];
    // This device first, then the others as the hub lists them (most recently used first).
    const ordered = [...rows.filter((s) => s.current), ...rows.filter((s) => !s.current)];
    fill(list, ...ordered.map(row));
    list.hidden = !ordered.length;
    const n = others().length;
    only.hidden = !(sessions !== null && n === 0);
    el.dataset.devices = String(rows.length);
    if (!n) confirming = false;
    othersBtn.hidden = n === 0 || confirming;
    confirmBox.hidden = !confirming;
    if (confirming) setText(confirmText, t('devices.othersConfirm', { n }));
  }

  /** Re-words "last active …" as time passes (no request). */
  function retell() {
    for (const span of list.querySelectorAll('.device-seen')) {
      if (!(span instanceof HTMLElement)) continue;
      const seen = Number(span.dataset.seen);
      if (Number.isFinite(seen)) setText(span, t('devices.lastActive', { when: formatRelative(seen) }));
    }
  }

  async function reload() {
    const mine = ++seq;
    phase = sessions === null ? 'loading' : phase;
    draw();
    try {
      const rows = await api.sessions();
      if (destroyed || mine !== seq) return;
      sessions = Array.isArray(rows) ? rows : [];
      phase = 'ready';
      loadError = '';
    } catch (e) {
      if (destroyed || mine !== seq) return;
      // A 401 takes the whole app to the login screen.
      if (e instanceof ApiError && e.status === 401) return;
      phase = 'error';
      loadError = e instanceof ApiError && !e.unreachable ? e.message : '';
      sessions = null;
    }
    draw();
  }

  othersBtn.addEventListener('click', () => {
    msg.clear();
    confirming = true;
    draw();
    yes.focus();
  });
  no.addEventListener('click', () => {
    confirming = false;
    draw();
    othersBtn.focus();
  });
  yes.addEventListener('click', () =>
    busy(yes, async () => {
      try {
        const res = await api.endOtherSessions();
        confirming = false;
        msg.ok(t('devices.othersDone', { n: typeof res?.revoked === 'number' ? res.revoked : others().length }));
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return;
        msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
      }
      await reload();
    }),
  );

  const timer = window.setInterval(retell, RETELL_MS);
  /** Back to a tab left in the background: the list may have changed. */
  const onVisible = () => {
    if (document.visibilityState === 'visible') reload();
  };
  document.addEventListener('visibilitychange', onVisible);
  draw();
  reload();
  return {
    el,
    reload,
    destroy: () => {
      destroyed = true;
      window.clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    },
  };
}

/**
 * "Change password": current, new and the new once more, checked here
 * first (empty, too short, not the same), then by the hub (wrong current
 * password). Every other device is signed out; this one stays.
 * @param {() => void} onChanged called after a change (the device list shrank)
 * @returns {{el: HTMLElement}}
 */
export function passwordCard(onChanged) {
  const msg = messageBox();
  const current = h('input', { type: 'password', name: 'current_password', autocomplete: 'current-password', required: true });
  const next = h('input', { type: 'password', name: 'new_password', autocomplete: 'new-password', required: true, minlength: 4 });
  const repeat = h('input', { type: 'password', name: 'repeat_password', autocomplete: 'new-password', required: true, minlength: 4 });
  const fCurrent = field({ label: t('account.current'), input: current });
  const fNext = field({ label: t('account.new'), input: next, hint: t('account.newHint') });
  const fRepeat = field({ label: t('account.repeat'), input: repeat });
  // For password managers: which account the new password belongs to.
  const user = h('input', { type: 'text', name: 'username', autocomplete: 'username', hidden: true, readonly: true, tabindex: -1, 'aria-hidden': 'true', value: state.user?.username ?? '' });
  const show = h('input', { type: 'checkbox', id: uid('show-pws') });
  show.addEventListener('change', () => {
    for (const input of [current, next, repeat]) input.type = show.checked ? 'text' : 'password';
  });
  const submit = h('button', { type: 'submit', class: 'btn primary block' }, t('account.pwSave'));
  const form = h(
    'form',
    { class: 'card form', novalidate: true, 'aria-labelledby': 'set-pwchange-h', 'data-form': 'change-password' },
    h('h2', { id: 'set-pwchange-h' }, t('account.pwTitle')),
    h('p', { class: 'hint' }, t('account.pwIntro')),
    user,
    fCurrent.el,
    fNext.el,
    fRepeat.el,
    h('label', { class: 'check', for: show.id }, show, h('span', {}, t('account.show'))),
    msg.el,
    submit,
  );

  const clearErrors = () => {
    fCurrent.setError('');
    fNext.setError('');
    fRepeat.setError('');
  };
  for (const input of [current, next, repeat]) {
    input.addEventListener('input', () => {
      msg.clear();
      if (input === current) fCurrent.setError('');
      else if (input === next) fNext.setError('');
      else fRepeat.setError('');
    });
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    msg.clear();
    clearErrors();
    const cur = current.value;
    const pw = next.value;
    let ok = true;
    if (!cur) {
      fCurrent.setError(t('account.needCurrent'));
      ok = false;
    }
    if ([...pw].length < 4) {
      fNext.setError(t('account.tooShort'));
      ok = false;
    } else if (repeat.value !== pw) {
      fRepeat.setError(t('account.mismatch'));
      ok = false;
    }
    if (!ok) {
      const bad = form.querySelector('[aria-invalid="true"]');
      if (bad instanceof HTMLElement) bad.focus();
      return;
    }
    busy(submit, async () => {
      try {
        await api.changePassword(cur, pw);
        for (const input of [current, next, repeat]) input.value = '';
        msg.ok(t('account.pwChanged'));
        onChanged();
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          fCurrent.setError(t('account.wrongCurrent'));
          current.focus();
          current.select();
          // A 401 here means a wrong password, unless this device was signed
          // out meanwhile: asking again (not quietly) tells which.
          api.agents().catch(() => {});
        } else if (e instanceof ApiError && e.status === 400) {
          fNext.setError(e.message);
          next.focus();
        } else {
          msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
        }
      }
    });
  });
  return { el: form };
}

/**
 * "Email address for alerts": the account's address (or none), saved on the
 * hub; says when the hub has no email server, so no email can be sent yet.
 * @param {(account: import('../api.js').AccountInfo | null) => void} [onChange] told the
 *   account after loading and after each save (the email switches depend on it)
 * @returns {{el: HTMLElement}}
 */
export function emailCard(onChange = () => {}) {
  /** @type {import('../api.js').AccountInfo | null} */
  let account = null;
  const msg = messageBox();
  const input = h('input', { type: 'email', name: 'email', autocomplete: 'email', inputmode: 'email', maxlength: 254, disabled: true });
  const f = field({ label: t('email.label'), input, hint: t('email.hint') });
  const save = h('button', { type: 'submit', class: 'btn primary', disabled: true }, t('email.save'));
  const remove = h('button', { type: 'button', class: 'btn ghost-danger', 'data-action': 'remove-email', hidden: true }, t('email.remove'));
  const server = h('p', { class: 'hint', 'data-testid': 'email-server', hidden: true }, t('email.noServer'));
  const form = h(
    'form',
    { class: 'card form', novalidate: true, 'aria-labelledby': 'set-email-h', 'data-form': 'email' },
    h('h2', { id: 'set-email-h' }, t('email.title')),
    server,
    f.el,
    msg.el,
    h('div', { class: 'row' }, save, remove),
  );

  function draw() {
    form.dataset.loaded = String(!!account);
    input.disabled = !account;
    save.disabled = !account;
    remove.hidden = !account?.email;
    server.hidden = !account || account.email_available;
    form.dataset.emailAvailable = String(!!account?.email_available);
  }

  /** @param {string | null} email */
  async function store(email) {
    msg.clear();
    f.setError('');
    try {
      const res = await api.setEmail(email);
      const saved = res && 'email' in res && res.email !== undefined ? res.email : email;
      account = account ? { ...account, email: saved } : account;
      input.value = saved ?? '';
      msg.ok(saved ? t('email.saved') : t('email.removed'));
      onChange(account);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      if (e instanceof ApiError && e.status === 400) {
        f.setError(e.message);
        input.focus();
      } else {
        msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
      }
    }
    draw();
  }

  input.addEventListener('input', () => {
    msg.clear();
    f.setError('');
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    // The hub checks too; this catches the obvious typo at once.
    if (value && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
      f.setError(t('email.invalid'));
      input.focus();
      return;
    }
    busy(save, () => store(value || null));
  });
  remove.addEventListener('click', () => busy(remove, () => store(null)));

  api
    .account()
    .then((acc) => {
      account = acc;
      input.value = acc.email ?? '';
      draw();
      onChange(acc);
    })
    .catch((e) => {
      if (!(e instanceof ApiError && e.status === 401)) msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
      onChange(null);
    });
  draw();
  return { el: form };
}
