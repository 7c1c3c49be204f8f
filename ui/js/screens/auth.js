// Log in and sign up. Sign up shows whether the name is free as you type.

import { api, ApiError } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { state } from '../state.js';
import { busy, field, langSwitch, messageBox } from '../components.js';

/**
 * @param {'login'|'signup'} mode
 * @param {() => Promise<void>} onLoggedIn
 * @param {boolean} [signedOut] the hub ended this device's session: say so
 * @returns {import('../app.js').Screen}
 */
export function authScreen(mode, onLoggedIn, signedOut = false) {
  const signup = mode === 'signup';
  const msg = messageBox();
  const notice = signedOut
    ? h(
        'div',
        { class: 'signed-out', role: 'alert', 'data-notice': 'signed-out' },
        h('p', { class: 'signed-out-title' }, t('auth.signedOut')),
        h('p', {}, t('auth.signedOutWhy')),
      )
    : null;

  const username = h('input', {
    name: 'username',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    required: true,
    maxlength: 64,
  });
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: signup ? 'new-password' : 'current-password',
    required: true,
    minlength: signup ? 4 : null,
  });
  const userField = field({ label: t('auth.username'), input: username, hint: signup ? t('auth.usernameHint') : '' });
  const passField = field({ label: t('auth.password'), input: password, hint: signup ? t('auth.passwordHint') : '' });

  const showPw = h('input', { type: 'checkbox', id: `show-pw-${mode}` });
  showPw.addEventListener('change', () => {
    password.type = showPw.checked ? 'text' : 'password';
  });

  const submit = h('button', { type: 'submit', class: 'btn primary block' }, signup ? t('auth.createAccount') : t('auth.login'));

  // Username availability while typing (sign up only).
  /** @type {AbortController | null} */
  let checking = null;
  let timer = 0;
  let nameTaken = false;
  if (signup) {
    username.addEventListener('input', () => {
      window.clearTimeout(timer);
      checking?.abort();
      nameTaken = false;
      const name = username.value;
      userField.setError('');
      if (!name) {
        userField.hint.textContent = t('auth.usernameHint');
        userField.hint.dataset.state = '';
        return;
      }
      if (name.trim() !== name || name.length > 64) {
        userField.hint.dataset.state = 'bad';
        userField.hint.textContent = t('auth.usernameInvalid');
        return;
      }
      userField.hint.dataset.state = 'checking';
      userField.hint.textContent = t('auth.checking');
      timer = window.setTimeout(async () => {
        const ctl = new AbortController();
        checking = ctl;
        try {
          const { exists } = await api.checkUsername(name, ctl.signal);
          if (ctl.signal.aborted) return;
          nameTaken = exists;
          userField.hint.dataset.state = exists ? 'bad' : 'good';
          userField.hint.textContent = exists ? t('auth.taken') : t('auth.available');
        } catch {
          if (!ctl.signal.aborted) {
            userField.hint.dataset.state = '';
            userField.hint.textContent = t('auth.usernameHint');
          }
        }
      }, 250);
    });
    userField.hint.setAttribute('aria-live', 'polite');
  }

  const form = h(
    'form',
    { class: 'card form', novalidate: true },
    userField.el,
    passField.el,
    h('label', { class: 'check', for: showPw.id }, showPw, h('span', {}, t('auth.showPassword'))),
    msg.el,
    submit,
  );

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    msg.clear();
    userField.setError('');
    passField.setError('');
    const name = username.value;
    const pw = password.value;
    let ok = true;
    if (!name.trim()) {
      userField.setError(t('auth.needUsername'));
      ok = false;
    } else if (signup && nameTaken) {
      userField.setError(t('auth.taken'));
      ok = false;
    }
    if (!pw) {
      passField.setError(t('auth.needPassword'));
      ok = false;
    } else if (signup && [...pw].length < 4) {
      passField.setError(t('auth.passwordHint'));
      ok = false;
    }
    if (!ok) {
      const bad = form.querySelector('[aria-invalid="true"]');
      if (bad instanceof HTMLElement) bad.focus();
      return;
    }
    busy(submit, async () => {
      try {
        if (signup) await api.register(name, pw);
        const res = await api.login(name, pw);
        state.user = res.user;
        await onLoggedIn();
      } catch (e) {
        msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
      }
    });
  });

  const el = h(
    'section',
    { class: 'screen auth' },
    h(
      'div',
      { class: 'auth-hero' },
      h('img', { src: 'icon.svg', alt: '', width: 64, height: 64 }),
      h('h1', {}, signup ? t('auth.signupTitle') : t('auth.loginTitle')),
      h('p', { class: 'muted' }, t('auth.tagline')),
    ),
    notice,
    form,
    h(
      'p',
      { class: 'switch-mode' },
      signup ? t('auth.haveAccount') : t('auth.noAccount'),
      ' ',
      h('a', { href: signup ? '#/login' : '#/signup', class: 'link' }, signup ? t('auth.login') : t('auth.createAccount')),
    ),
    langSwitch(),
  );
  return {
    el,
    title: signup ? t('auth.signupTitle') : t('auth.loginTitle'),
    destroy: () => {
      window.clearTimeout(timer);
      checking?.abort();
    },
  };
}
