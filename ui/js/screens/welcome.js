// First run: the account has no cradle yet. One clear way forward.

import { h } from '../dom.js';
import { t } from '../i18n.js';

/** @returns {import('../app.js').Screen} */
export function welcomeScreen() {
  const el = h(
    'section',
    { class: 'screen welcome' },
    h(
      'div',
      { class: 'card hero' },
      h('img', { src: 'icon.svg', alt: '', width: 72, height: 72 }),
      h('h1', {}, t('welcome.title')),
      h('p', {}, t('welcome.body')),
      h(
        'ol',
        { class: 'steps' },
        h('li', {}, t('welcome.step1')),
        h('li', {}, t('welcome.step2')),
        h('li', {}, t('welcome.step3')),
      ),
      h('a', { href: '#/add', class: 'btn primary block big', 'data-action': 'add-cradle' }, t('welcome.add')),
    ),
    h(
      'div',
      { class: 'card join-entry' },
      h('p', {}, t('join.invitedQ')),
      h('a', { href: '#/join', class: 'btn block big', 'data-action': 'join-cradle' }, t('join.entry')),
    ),
  );
  return { el, title: t('welcome.title') };
}
