// Pieces several screens share: page header, cradle switcher, language
// switch, form fields, messages.

import { h, fill, uid } from './dom.js';
import { getLang, setLang, t } from './i18n.js';
import { state, on, selectCradle } from './state.js';
import { presenceOf } from './presence.js';

/**
 * A screen's root with its heading.
 * @param {string} title
 * @param {string} [className]
 * @param {...import('./dom.js').Child} children
 */
export function page(title, className = '', ...children) {
  return h('section', { class: `screen ${className}`.trim() }, h('h1', { class: 'screen-title' }, title), ...children);
}

/** A short, readable name for a cradle id. @param {string} uuid */
export function cradleName(uuid) {
  return uuid;
}

/**
 * A dot for a cradle's connection (green online, red offline) with its
 * words for screen readers. Updated in place by `setPresenceDot`.
 * @param {string} uuid
 */
export function presenceDot(uuid) {
  const el = h('span', { class: 'presence-dot', 'data-presence-of': uuid },
    h('span', { class: 'visually-hidden' }));
  setPresenceDot(el);
  return el;
}

/** @param {HTMLElement} el a `presenceDot` */
export function setPresenceDot(el) {
  const p = presenceOf(el.dataset.presenceOf);
  if (el.dataset.presence === p.state) return;
  el.dataset.presence = p.state;
  const words = p.state === 'online' ? t('presence.online') : p.state === 'offline' ? t('presence.offline') : p.state === 'never' ? t('presence.never') : '';
  const hidden = el.firstElementChild;
  if (hidden) hidden.textContent = words ? `, ${words}` : '';
}

/**
 * Buttons to switch between the account's cradles (shown only when there are
 * several), each with its online / offline dot. Returns the element and an
 * unsubscribe function.
 * @returns {{el: HTMLElement, destroy: () => void}}
 */
export function cradleSwitcher() {
  const el = h('div', { class: 'cradle-switch', role: 'group', 'aria-label': t('cradle.switch') });
  const draw = () => {
    el.hidden = state.cradles.length < 2;
    fill(
      el,
      ...state.cradles.map((c) =>
        h(
          'button',
          {
            type: 'button',
            class: 'chip',
            'aria-pressed': String(c.uuid === state.selected),
            'data-uuid': c.uuid,
            onclick: () => selectCradle(c.uuid),
          },
          presenceDot(c.uuid),
          h('span', { class: 'chip-name' }, cradleName(c.uuid)),
        ),
      ),
    );
  };
  /** Only the dots change (the buttons stay, so focus does). @param {string} uuid */
  const onPresence = (uuid) => {
    for (const dot of el.querySelectorAll('.presence-dot')) {
      if (dot instanceof HTMLElement && dot.dataset.presenceOf === uuid) setPresenceDot(dot);
    }
  };
  draw();
  const offs = [on('cradles', draw), on('selected', draw), on('presence', onPresence)];
  return { el, destroy: () => offs.forEach((f) => f()) };
}

/** English / 한국어 as two toggle buttons. */
export function langSwitch() {
  const lang = getLang();
  /** @param {'en'|'ko'} code @param {string} label */
  const btn = (code, label) =>
    h(
      'button',
      {
        type: 'button',
        class: 'chip',
        lang: code,
        'aria-pressed': String(lang === code),
        'data-lang': code,
        onclick: () => setLang(code),
      },
      label,
    );
  return h('div', { class: 'lang-switch', role: 'group', 'aria-label': t('settings.language') }, btn('en', 'English'), btn('ko', '한국어'));
}

/**
 * A labelled input with a hint and an error line (aria-describedby wired).
 * @param {{label: string, input: HTMLInputElement, hint?: string, unit?: string}} o
 */
export function field(o) {
  const id = o.input.id || uid('f');
  o.input.id = id;
  const hintId = `${id}-hint`;
  const errId = `${id}-err`;
  o.input.setAttribute('aria-describedby', `${hintId} ${errId}`);
  const hint = h('p', { class: 'hint', id: hintId }, o.hint ?? '');
  const error = h('p', { class: 'field-error', id: errId, 'aria-live': 'polite' });
  const control = o.unit
    ? h('div', { class: 'with-unit' }, o.input, h('span', { class: 'unit', 'aria-hidden': 'true' }, o.unit))
    : o.input;
  const el = h('div', { class: 'field' }, h('label', { for: id }, o.label), control, hint, error);
  return {
    el,
    hint,
    /** @param {string} msg */
    setError(msg) {
      error.textContent = msg;
      o.input.setAttribute('aria-invalid', msg ? 'true' : 'false');
    },
  };
}

/** A message area: role=alert for errors, role=status otherwise. */
export function messageBox() {
  const el = h('div', { class: 'msg', hidden: true });
  return {
    el,
    /** @param {string} text */
    error(text) {
      el.className = 'msg error';
      el.setAttribute('role', 'alert');
      el.textContent = text;
      el.hidden = !text;
    },
    /** @param {string} text */
    ok(text) {
      el.className = 'msg ok';
      el.setAttribute('role', 'status');
      el.textContent = text;
      el.hidden = !text;
    },
    /** @param {string} text */
    info(text) {
      el.className = 'msg info';
      el.setAttribute('role', 'status');
      el.textContent = text;
      el.hidden = !text;
    },
    clear() {
      el.textContent = '';
      el.hidden = true;
    },
  };
}

/** Runs an async action on a button: disabled + busy meanwhile. @param {HTMLButtonElement} btn @param {() => Promise<void>} fn */
export async function busy(btn, fn) {
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  try {
    await fn();
  } finally {
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
  }
}
