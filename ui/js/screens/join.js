// Joining someone's cradle with the 6-digit code they were given, typed or
// from the join link (`#/join/123456`, the QR code's target). Someone who
// is not signed in is asked to sign up or log in first; the code is kept
// in this tab meanwhile and the join screen comes back after the login.

import { api, ApiError } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { loadCradles, selectCradle } from '../state.js';
import { refreshEvents } from '../events.js';
import { go } from '../nav.js';
import { busy, field, langSwitch, messageBox } from '../components.js';
import { formatClock, formatDuration } from '../format.js';
import { groupCode, roleName } from './members.js';

const PENDING_KEY = 'cradle-hub.join';

/** Only digits, at most six ("123 456" and "123-456" are typed too). @param {string} raw */
function digitsOf(raw) {
  return raw.replace(/\D/g, '').slice(0, 6);
}

/** Remembers a code across the login screen (this tab only). @param {string} code */
function rememberCode(code) {
  try {
    if (code) sessionStorage.setItem(PENDING_KEY, code);
  } catch {
    // Storage blocked: the code has to be typed after the login.
  }
}

/**
 * Where to go after a login: the join screen when a join link brought the
 * visitor here, else null. The code is forgotten once asked for.
 * @returns {string | null}
 */
export function takePendingJoin() {
  try {
    const code = sessionStorage.getItem(PENDING_KEY);
    sessionStorage.removeItem(PENDING_KEY);
    return code ? `#/join/${code}` : null;
  } catch {
    return null;
  }
}

/**
 * @param {string} fromLink the code in the route (may be empty or malformed)
 * @param {boolean} loggedIn
 * @returns {import('../app.js').Screen}
 */
export function joinScreen(fromLink, loggedIn) {
  const code = digitsOf(fromLink);
  return loggedIn ? joinForm(code) : signInFirst(code);
}

/** Not signed in: say what happens, keep the code, offer both ways in. @param {string} code */
function signInFirst(code) {
  rememberCode(code);
  const el = h(
    'section',
    { class: 'screen join', 'data-mode': 'signed-out' },
    h(
      'div',
      { class: 'card hero' },
      h('img', { src: 'icon.svg', alt: '', width: 64, height: 64 }),
      h('h1', {}, t('join.invitedTitle')),
      h('p', {}, code.length === 6 ? t('join.invitedBody', { code: groupCode(code) }) : t('join.invitedBodyNoCode')),
      h('a', { href: '#/signup', class: 'btn primary block big', 'data-action': 'join-signup' }, t('join.signup')),
      h('p', { class: 'join-or muted' }, t('join.haveAccount')),
      h('a', { href: '#/login', class: 'btn block big', 'data-action': 'join-login' }, t('join.login')),
    ),
    langSwitch(),
  );
  return { el, title: t('join.invitedTitle') };
}

/** Signed in: the code (filled from the link) and one big button. @param {string} code */
function joinForm(code) {
  // Here now; a later login must not bring this screen back.
  takePendingJoin();
  const msg = messageBox();
  const input = h('input', {
    name: 'code',
    class: 'join-code',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9 ]*',
    maxlength: 7,
    enterkeyhint: 'go',
    autocapitalize: 'off',
    spellcheck: 'false',
    required: true,
  });
  input.value = code ? groupCode(code) : '';
  const codeField = field({ label: t('join.codeLabel'), input, hint: t('join.codeHint') });
  const submit = h('button', { type: 'submit', class: 'btn primary block big', 'data-action': 'join' }, t('join.submit'));
  /** Until when (local ms) the hub refuses codes from this account (429). */
  let blockedUntil = 0;
  let unblockTimer = 0;

  input.addEventListener('input', () => {
    codeField.setError('');
    // "123456" → "123 456" as typed, without fighting the caret mid-edit.
    const digits = digitsOf(input.value);
    const grouped = groupCode(digits);
    if (input.value !== grouped && input.selectionStart === input.value.length) input.value = grouped;
  });

  const form = h('form', { class: 'card form', novalidate: true, 'data-form': 'join' }, codeField.el, msg.el, submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    msg.clear();
    const digits = digitsOf(input.value);
    if (digits.length !== 6) {
      codeField.setError(t('join.needSix'));
      input.focus();
      return;
    }
    if (Date.now() < blockedUntil) return;
    busy(submit, async () => {
      try {
        const res = await api.acceptInvite(digits);
        // The new cradle is in the list, the live stream covers it, and it is the one shown.
        await loadCradles();
        refreshEvents();
        await selectCradle(res.uuid);
        go('#/live');
      } catch (e) {
        if (!(e instanceof ApiError)) {
          msg.error(t('error.unexpected'));
        } else if (e.status === 404) {
          codeField.setError(t('join.wrongCode'));
          input.focus();
          input.select();
        } else if (e.status === 409) {
          msg.info(t('join.already'));
        } else if (e.status === 429) {
          const seconds = Math.max(1, e.retryAfter ?? 600);
          blockedUntil = Date.now() + seconds * 1000;
          msg.error(t('join.tooMany', { d: formatDuration(seconds * 1000), time: formatClock(blockedUntil, false) }));
          window.clearTimeout(unblockTimer);
          unblockTimer = window.setTimeout(() => {
            submit.disabled = false;
            msg.clear();
          }, seconds * 1000);
        } else {
          msg.error(e.message);
        }
      }
    }).then(() => {
      // `busy` enabled the button again; a refusal keeps it off until then.
      if (Date.now() < blockedUntil) submit.disabled = true;
    });
  });

  const roles = h(
    'ul',
    { class: 'join-roles' },
    h('li', {}, h('strong', {}, roleName('parent')), ' — ', t('invite.parentCan')),
    h('li', {}, h('strong', {}, roleName('viewer')), ' — ', t('invite.viewerCan')),
  );
  const el = h(
    'section',
    { class: 'screen join', 'data-mode': 'signed-in' },
    h('h1', { class: 'screen-title' }, t('join.title')),
    h('p', { class: 'lead' }, t('join.body')),
    form,
    h('p', { class: 'hint' }, t('join.rolesIntro')),
    roles,
  );
  if (!code) queueMicrotask(() => input.focus());
  return { el, title: t('join.title'), destroy: () => window.clearTimeout(unblockTimer) };
}
