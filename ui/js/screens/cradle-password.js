// Settings card: require a password for the selected cradle's MQTT
// connection (for firmware that can send one). Turning it on asks first —
// today's anonymous firmware stops connecting — then shows the generated
// password once, with its username, to type into the cradle.

import { api, ApiError } from '../api.js';
import { h, setText, uid } from '../dom.js';
import { t } from '../i18n.js';
import { state, on, loadCradles } from '../state.js';
import { busy, cradleName, messageBox } from '../components.js';

/**
 * The password just generated, kept in this tab's memory until the parent
 * hides it, so a language switch or a look at another screen does not lose
 * it. The hub never shows it again; a reload forgets it.
 * @type {{uuid: string, username: string, password: string} | null}
 */
let shown = null;
on('auth', () => {
  shown = null;
});

/**
 * Copies text; falls back to a selection + execCommand on plain-http LAN
 * pages, where the Clipboard API is missing.
 * @param {string} text
 * @returns {Promise<boolean>}
 */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Try the old way below.
  }
  const area = h('textarea', { readonly: true, class: 'visually-hidden' });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

/** @returns {{el: HTMLElement, destroy: () => void}} */
export function cradlePasswordCard() {
  const offs = /** @type {(() => void)[]} */ ([]);
  /** @type {boolean | null} the hub's answer; null while loading or after an error */
  let required = null;
  let failed = false;
  let pending = false;
  /** @type {'on' | 'new' | null} */
  let confirming = null;
  let username = '';

  const heading = h('h2', { id: 'set-pw-h' }, '');
  const input = h('input', { type: 'checkbox', role: 'switch', name: 'mqtt_password_required', id: 'set-mqtt-password' });
  const hintId = uid('pw-hint');
  input.setAttribute('aria-describedby', hintId);
  const hint = h('span', { class: 'hint', id: hintId }, t('common.loading'));
  const row = h(
    'div',
    { class: 'toggle-row' },
    h('label', { for: input.id }, h('span', { class: 'toggle-text' }, h('span', {}, t('pw.switch')), hint), input),
  );
  const warning = h('p', { class: 'pw-warning' }, t('pw.warning'));

  // Confirm step (turning on, or replacing the password)
  const confirmId = uid('pw-confirm');
  const confirmText = h('p', { id: confirmId }, '');
  const yes = h('button', { type: 'button', class: 'btn danger', 'data-action': 'pw-confirm' }, '');
  const no = h('button', { type: 'button', class: 'btn', 'data-action': 'pw-cancel' }, t('common.cancel'));
  const confirmBox = h(
    'div',
    { class: 'confirm pw-confirm', role: 'alertdialog', 'aria-labelledby': confirmId, hidden: true },
    h('p', { class: 'pw-warning strong' }, t('pw.warning')),
    confirmText,
    h('div', { class: 'row' }, yes, no),
  );

  // The one-time panel
  const userValue = h('code', { class: 'secret-value', 'data-secret': 'username' }, '');
  const passValue = h('code', { class: 'secret-value', 'data-secret': 'password' }, '');
  const copyUser = h('button', { type: 'button', class: 'btn small copy', 'data-action': 'copy-username', 'aria-label': t('pw.copyUsername') }, t('pw.copy'));
  const copyPass = h('button', { type: 'button', class: 'btn small copy', 'data-action': 'copy-password', 'aria-label': t('pw.copyPassword') }, t('pw.copy'));
  const hideBtn = h('button', { type: 'button', class: 'btn block', 'data-action': 'pw-hide' }, t('pw.hide'));
  const secretBox = h(
    'div',
    { class: 'secret', hidden: true, role: 'group', 'aria-labelledby': 'set-pw-once-h' },
    h('h3', { id: 'set-pw-once-h' }, t('pw.onceTitle')),
    h('div', { class: 'secret-row' }, h('span', { class: 'secret-label' }, t('pw.username')), userValue, copyUser),
    h('div', { class: 'secret-row' }, h('span', { class: 'secret-label' }, t('pw.password')), passValue, copyPass),
    h('p', { class: 'once' }, t('pw.once')),
    hideBtn,
  );

  const msg = messageBox();
  const genBtn = h('button', { type: 'button', class: 'btn block', 'data-action': 'pw-generate', hidden: true }, t('pw.generate'));
  const el = h(
    'section',
    { class: 'card pw-card', 'aria-labelledby': 'set-pw-h', 'data-form': 'mqtt-password', 'data-state': 'loading' },
    heading,
    row,
    warning,
    confirmBox,
    secretBox,
    msg.el,
    genBtn,
  );

  function draw() {
    const uuid = state.selected;
    el.hidden = !uuid;
    if (!uuid) return;
    setText(heading, t('pw.title', { name: cradleName(uuid) }));
    el.dataset.state = required === null ? (failed ? 'error' : 'loading') : required ? 'on' : 'off';
    el.setAttribute('aria-busy', String(pending || (required === null && !failed)));
    input.checked = required === true;
    input.disabled = required === null || pending;
    setText(
      hint,
      required === null ? (failed ? '\u00a0' : t('common.loading')) : pending ? t('pw.saving') : required ? t('pw.hintOn', { user: username }) : t('pw.hintOff'),
    );
    warning.hidden = required !== false || confirming !== null;
    confirmBox.hidden = confirming === null;
    if (confirming) {
      setText(confirmText, confirming === 'on' ? t('pw.confirmOn') : t('pw.confirmNew'));
      setText(yes, confirming === 'on' ? t('pw.yesOn') : t('pw.yesNew'));
    }
    const secret = shown && shown.uuid === uuid ? shown : null;
    secretBox.hidden = !secret;
    if (secret) {
      // In one piece: the password may contain - and _, so no grouping.
      setText(userValue, secret.username);
      setText(passValue, secret.password);
    }
    genBtn.hidden = required !== true || confirming !== null;
    genBtn.disabled = pending;
  }

  async function load() {
    const uuid = state.selected;
    required = null;
    failed = false;
    confirming = null;
    msg.clear();
    if (shown && shown.uuid !== uuid) shown = null;
    draw();
    if (!uuid) return;
    try {
      const r = await api.mqttPassword(uuid);
      if (uuid !== state.selected) return;
      required = r.required;
      username = r.username;
      // Turned off elsewhere: the password on screen is worthless.
      if (!required && shown) shown = null;
    } catch (e) {
      if (uuid !== state.selected) return;
      failed = true;
      msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
    }
    draw();
  }

  /** Asks the hub; returns its answer or null (the error is shown). @param {boolean} want @param {string} uuid */
  async function change(want, uuid) {
    pending = true;
    msg.clear();
    draw();
    try {
      const r = await api.setMqttPassword(uuid, want);
      if (uuid !== state.selected) return null;
      required = r.required;
      username = r.username || username;
      // The cradle list shows who needs a password.
      loadCradles().catch(() => {});
      return r;
    } catch (e) {
      if (uuid === state.selected) msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
      return null;
    } finally {
      pending = false;
      draw();
    }
  }

  input.addEventListener('change', async () => {
    const uuid = state.selected;
    if (!uuid || required === null) return;
    if (input.checked) {
      // Not yet: ask first.
      input.checked = false;
      confirming = 'on';
      msg.clear();
      draw();
      yes.focus();
      return;
    }
    confirming = null;
    const r = await change(false, uuid);
    if (r) {
      shown = null;
      draw();
      msg.ok(r.message || t('pw.hintOff'));
    }
  });

  yes.addEventListener('click', () =>
    busy(yes, async () => {
      const uuid = state.selected;
      if (!uuid) return;
      const r = await change(true, uuid);
      if (!r) return;
      confirming = null;
      if (r.password) {
        shown = { uuid, username: r.username || uuid, password: r.password };
      }
      draw();
      // Straight to the password, for screen readers too.
      passValue.tabIndex = -1;
      secretBox.scrollIntoView({ block: 'nearest' });
      passValue.focus({ preventScroll: true });
    }),
  );
  no.addEventListener('click', () => {
    const was = confirming;
    confirming = null;
    draw();
    (was === 'new' ? genBtn : input).focus();
  });
  genBtn.addEventListener('click', () => {
    confirming = 'new';
    msg.clear();
    draw();
    yes.focus();
  });
  hideBtn.addEventListener('click', () => {
    shown = null;
    draw();
    genBtn.focus();
  });

  /** @param {HTMLButtonElement} btn @param {HTMLElement} value */
  const copier = (btn, value) => {
    /** @type {number | undefined} */
    let timer;
    btn.addEventListener('click', async () => {
      const ok = await copyText(value.textContent ?? '');
      if (ok) {
        window.clearTimeout(timer);
        setText(btn, t('pw.copied'));
        btn.dataset.copied = 'true';
        timer = window.setTimeout(() => {
          setText(btn, t('pw.copy'));
          delete btn.dataset.copied;
        }, 2500);
      } else {
        msg.error(t('pw.copyFailed'));
        window.getSelection()?.selectAllChildren(value);
      }
    });
  };
  copier(copyUser, userValue);
  copier(copyPass, passValue);

  offs.push(on('selected', load));
  load();
  return { el, destroy: () => offs.forEach((f) => f()) };
}
