// The hub did not answer when the app started (it may be restarting).

import { h } from '../dom.js';
import { t } from '../i18n.js';

/** @param {() => void} retry @returns {import('../app.js').Screen} */
export function unreachableScreen(retry) {
  const el = h(
    'section',
    { class: 'screen welcome' },
    h(
      'div',
      { class: 'card hero' },
      h('div', { class: 'spinner', 'aria-hidden': 'true' }),
      h('h1', {}, t('unreachable.title')),
      h('p', { role: 'status' }, t('unreachable.body')),
      h('button', { type: 'button', class: 'btn block', onclick: retry }, t('common.retry')),
    ),
  );
  return { el, title: t('unreachable.title') };
}
