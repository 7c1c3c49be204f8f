// Notification settings: push on this device (or why it cannot be), the
// account's email address, and per cradle this member's own push and email
// switches beside the cradle-wide ones (which only its owner or a parent
// may change).

import { api, ApiError } from '../api.js';
import { h, fill, setText } from '../dom.js';
import { t } from '../i18n.js';
import { state, on } from '../state.js';
import { cradleName, messageBox, page } from '../components.js';
import { PushError, disablePush, enablePush, pushStatus } from '../push.js';
import { emailCard } from './account.js';

/**
 * @typedef {import('../api.js').AccountInfo} AccountInfo
 * @typedef {import('../api.js').Role} Role
 */

/** The account's role for a cradle (`/api/agents`); a hub without roles: its owner. @param {string} uuid @returns {Role} */
function roleOf(uuid) {
  const role = state.cradles.find((c) => c.uuid === uuid)?.role;
  return role === 'parent' || role === 'viewer' ? role : 'owner';
}

/** @type {Record<Role, import('../i18n.js').Key>} */
const ROLE_WORDS = { owner: 'role.owner', parent: 'role.parent', viewer: 'role.viewer' };

/**
 * A labelled on/off switch with a hint that can change.
 * @param {string} id @param {string} label @param {string} hint
 */
function switchRow(id, label, hint) {
  const input = h('input', { type: 'checkbox', role: 'switch', id, name: id });
  const hintEl = h('span', { class: 'hint', id: `${id}-hint` }, hint);
  input.setAttribute('aria-describedby', hintEl.id);
  const el = h('div', { class: 'toggle-row' }, h('label', { for: id }, h('span', { class: 'toggle-text' }, h('span', {}, label), hintEl), input));
  return { el, input, hintEl };
}

/** "Push on this phone": the switch, or in plain words why push cannot work here. */
function pushCard() {
  const sw = switchRow('notify-push-device', t('notify.pushDevice'), t('notify.pushDeviceHint'));
  // Until the browser said whether it holds a subscription.
  sw.input.disabled = true;
  const msg = messageBox();
  const why = h('div', { class: 'push-why', role: 'status' });
  let busyNow = false;

  /** Where this device should open the hub for push (its HTTPS address, after trusting its CA). */
  async function insecureHelp() {
    fill(why, h('p', {}, t('notify.insecure')));
    try {
      const info = await api.hubInfo();
      const https = info.tls && info.tls !== 'off' ? (info.https_urls ?? []) : [];
      if (!https.length) {
        why.append(h('p', { class: 'hint' }, t('notify.insecureNoTls')));
        return;
      }
      // The same screen on the HTTPS address.
      const target = `${https[0].replace(/\/$/, '')}/#/notify`;
      why.append(h('p', {}, h('a', { class: 'link mono', href: target, 'data-testid': 'push-https-link' }, https[0])));
      if (info.tls === 'self-signed') {
        why.append(h('p', { class: 'hint' }, t('notify.insecureCaFirst'), ' ', h('a', { class: 'link', href: '/ca', 'data-testid': 'push-ca-link' }, t('notify.insecureCa'))));
      }
    } catch {
      // The words above stand alone.
    }
  }

  async function draw() {
    const { state: st } = await pushStatus().catch(() => ({ state: /** @type {const} */ ('no-worker') }));
    el.dataset.push = st;
    sw.input.checked = st === 'on';
    sw.input.disabled = busyNow || !(st === 'on' || st === 'off');
    sw.el.hidden = st === 'insecure' || st === 'unsupported' || st === 'desktop-app';
    fill(why);
    if (st === 'insecure') await insecureHelp();
    else if (st === 'desktop-app') fill(why, h('p', {}, t('notify.desktopApp')));
    else if (st === 'unsupported') fill(why, h('p', {}, t('notify.unsupported')), h('p', { class: 'hint' }, t('notify.unsupportedIos')));
    else if (st === 'denied') fill(why, h('p', {}, t('notify.denied')), h('p', { class: 'hint' }, t('notify.deniedHow')));
    else if (st === 'no-worker') fill(why, h('p', {}, t('notify.noWorker')));
    setText(sw.hintEl, st === 'on' ? t('notify.pushOnHint') : t('notify.pushDeviceHint'));
  }

  sw.input.addEventListener('change', async () => {
    const wanted = sw.input.checked;
    busyNow = true;
    sw.input.disabled = true;
    sw.input.setAttribute('aria-busy', 'true');
    msg.clear();
    try {
      if (wanted) {
        await enablePush();
        msg.ok(t('notify.pushOn'));
      } else {
        await disablePush();
        msg.ok(t('notify.pushOff'));
      }
    } catch (e) {
      if (e instanceof PushError) {
        msg.error(
          e.reason === 'denied'
            ? t('notify.denied')
            : e.reason === 'dismissed'
              ? t('notify.dismissed')
              : e.reason === 'no-worker'
                ? t('notify.noWorker')
                : `${t('notify.serviceFailed')}${e.message && e.message !== e.reason ? ` (${e.message})` : ''}`,
        );
      } else if (!(e instanceof ApiError && e.status === 401)) {
        msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
      }
    } finally {
      busyNow = false;
      sw.input.removeAttribute('aria-busy');
      await draw();
    }
  });

  const el = h(
    'section',
    { class: 'card notify-device', 'aria-labelledby': 'notify-device-h' },
    h('h2', { id: 'notify-device-h' }, t('notify.deviceTitle')),
    sw.el,
    why,
    msg.el,
  );
  draw();
  return { el };
}

/**
 * One cradle: this member's push and email, and the cradle-wide switches.
 * @param {string} uuid
 * @param {() => AccountInfo | null} account
 */
function cradleCard(uuid, account) {
  const role = roleOf(uuid);
  const mayChangeAll = role !== 'viewer';
  const id = (/** @type {string} */ name) => `notify-${name}-${uuid.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const minePush = switchRow(id('push'), t('notify.minePush'), t('notify.minePushHint'));
  const mineEmail = switchRow(id('email'), t('notify.mineEmail'), t('notify.mineEmailHint'));
  const allPush = switchRow(id('all-push'), t('notify.allPush'), t('settings.pushHint'));
  const allEmail = switchRow(id('all-email'), t('notify.allEmail'), t('settings.emailHint'));
  minePush.input.dataset.pref = 'push';
  mineEmail.input.dataset.pref = 'email';
  allPush.input.dataset.pref = 'push_notifications_enabled';
  allEmail.input.dataset.pref = 'email_notifications_enabled';
  const msg = messageBox();
  let loaded = false;
  /** @type {import('../api.js').NotifyPrefs} */
  let mine = { push: true, email: true };
  let all = { push: true, email: true };

  function draw() {
    el.dataset.loaded = String(loaded);
    const acc = account();
    const emailReady = !!acc && acc.email_available && !!acc.email;
    minePush.input.checked = mine.push;
    // Shown as it works: off while no email can be sent (the choice is kept on the hub).
    mineEmail.input.checked = mine.email && emailReady;
    allPush.input.checked = all.push;
    allEmail.input.checked = all.email;
    minePush.input.disabled = !loaded;
    mineEmail.input.disabled = !loaded || !emailReady;
    allPush.input.disabled = !loaded || !mayChangeAll;
    allEmail.input.disabled = !loaded || !mayChangeAll;
    setText(minePush.hintEl, all.push ? t('notify.minePushHint') : t('notify.offForAll'));
    mineEmail.el.dataset.reason = !acc ? 'unknown' : !acc.email_available ? 'no-server' : !acc.email ? 'no-address' : 'ok';
    setText(
      mineEmail.hintEl,
      !acc
        ? t('notify.mineEmailHint')
        : !acc.email_available
          ? t('notify.noEmailServer')
          : !acc.email
            ? t('notify.needEmail')
            : all.email
              ? t('notify.mineEmailTo', { email: acc.email })
              : t('notify.offForAll'),
    );
  }

  async function load() {
    try {
      const [prefs, settings] = await Promise.all([api.notifyPrefs(uuid), api.settings(uuid)]);
      mine = { push: prefs.push !== false, email: prefs.email !== false };
      all = { push: settings.push_notifications_enabled !== false, email: settings.email_notifications_enabled !== false };
      loaded = true;
      msg.clear();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
    }
    draw();
  }

  /** @param {HTMLInputElement} input @param {() => Promise<void>} save */
  function onToggle(input, save) {
    input.addEventListener('change', async () => {
      msg.clear();
      input.setAttribute('aria-busy', 'true');
      try {
        await save();
        msg.ok(t('settings.saved'));
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
      } finally {
        input.removeAttribute('aria-busy');
        draw();
      }
    });
  }
  onToggle(minePush.input, async () => {
    const res = await api.setNotifyPrefs(uuid, { push: minePush.input.checked });
    mine = { push: res?.push ?? minePush.input.checked, email: res?.email ?? mine.email };
  });
  onToggle(mineEmail.input, async () => {
    const res = await api.setNotifyPrefs(uuid, { email: mineEmail.input.checked });
    mine = { push: res?.push ?? mine.push, email: res?.email ?? mineEmail.input.checked };
  });
  onToggle(allPush.input, async () => {
    await api.saveSettings(uuid, { push_notifications_enabled: allPush.input.checked });
    all = { ...all, push: allPush.input.checked };
  });
  onToggle(allEmail.input, async () => {
    await api.saveSettings(uuid, { email_notifications_enabled: allEmail.input.checked });
    all = { ...all, email: allEmail.input.checked };
  });

  const headingId = id('h');
  const el = h(
    'section',
    { class: 'card notify-cradle', 'aria-labelledby': headingId, 'data-uuid': uuid, 'data-role': role },
    h('h2', { id: headingId }, h('span', { class: 'mono' }, cradleName(uuid)), ' ', h('span', { class: 'tag role' }, t(ROLE_WORDS[role]))),
    h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, t('notify.mineTitle')),
      minePush.el,
      mineEmail.el,
    ),
    h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, t('notify.allTitle')),
      mayChangeAll ? null : h('p', { class: 'hint', 'data-testid': 'viewer-note' }, t('notify.viewerNote')),
      allPush.el,
      allEmail.el,
    ),
    msg.el,
  );
  draw();
  load();
  return { el, draw };
}

/** @returns {import('../app.js').Screen} */
export function notifySettingsScreen() {
  /** @type {AccountInfo | null} */
  let account = null;
  /** @type {{el: HTMLElement, draw: () => void}[]} */
  let cards = [];
  const cradles = h('div', { class: 'notify-cradles' });

  const email = emailCard((acc) => {
    account = acc;
    for (const c of cards) c.draw();
  });

  /** Which cradles with which roles the cards show: redrawn only when that changes. */
  let shown = '';
  function drawCradles() {
    const key = state.cradles.map((c) => `${c.uuid}:${roleOf(c.uuid)}`).join(' ');
    if (key === shown) return;
    shown = key;
    cards = state.cradles.map((c) => cradleCard(c.uuid, () => account));
    fill(cradles, ...(cards.length ? cards.map((c) => c.el) : [h('p', { class: 'muted' }, t('settings.noCradles'))]));
  }

  const offs = [on('cradles', drawCradles)];
  drawCradles();

  const el = page(
    t('notify.title'),
    'notify-settings',
    h('p', { class: 'muted' }, t('notify.intro')),
    h('div', { class: 'settings-grid' }, h('div', { class: 'settings-col' }, pushCard().el, email.el), h('div', { class: 'settings-col' }, cradles)),
  );
  return { el, title: t('notify.title'), destroy: () => offs.forEach((f) => f()) };
}
