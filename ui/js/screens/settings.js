// Settings: alert thresholds and notifications per cradle, the cradle's
// connection password, language, this device's notifications, the hub's
// address (and its QR code for a phone), the account's cradles (online or
// not), and logging out.

import { api, ApiError } from '../api.js';
import { h, fill, setText } from '../dom.js';
import { t } from '../i18n.js';
import { state, on, loadCradles } from '../state.js';
import { refreshEvents } from '../events.js';
import { busy, cradleName, cradleSwitcher, field, langSwitch, messageBox, page, presenceDot, setPresenceDot } from '../components.js';
import { presenceOf } from '../presence.js';
import { formatAt } from '../format.js';
import { cradlePasswordCard } from './cradle-password.js';

/** @typedef {import('../api.js').AlertSettings} AlertSettings */

export const LIMITS = {
  max_temperature: { min: 30, max: 45 },
  seconds: { min: 0, max: 86_400 },
};

/**
 * A labelled on/off switch.
 * @param {string} name @param {string} label @param {string} hint
 */
function toggle(name, label, hint) {
  const input = h('input', { type: 'checkbox', role: 'switch', name, id: `set-${name}` });
  const el = h(
    'div',
    { class: 'toggle-row' },
    h('label', { for: input.id }, h('span', { class: 'toggle-text' }, h('span', {}, label), h('span', { class: 'hint' }, hint)), input),
  );
  return { el, input };
}

/** @param {() => Promise<void>} logout @returns {import('../app.js').Screen} */
export function settingsScreen(logout) {
  const offs = /** @type {(() => void)[]} */ ([]);

  // --- Alert settings of the selected cradle -----------------------------------
  const switcher = cradleSwitcher();
  offs.push(switcher.destroy);
  const formMsg = messageBox();
  const maxTemp = h('input', { type: 'number', name: 'max_temperature', inputmode: 'decimal', min: 30, max: 45, step: 0.1, required: true });
  const cryFor = h('input', { type: 'number', name: 'crying_duration_threshold', inputmode: 'numeric', min: 0, max: 86400, step: 1, required: true });
  const awayFor = h('input', { type: 'number', name: 'abnormal_position_timeout', inputmode: 'numeric', min: 0, max: 86400, step: 1, required: true });
  const fTemp = field({ label: t('settings.maxTemp'), input: maxTemp, unit: '°C', hint: t('settings.maxTempHint') });
  const fCry = field({ label: t('settings.cryFor'), input: cryFor, unit: t('unit.seconds'), hint: t('settings.cryForHint') });
  const fAway = field({ label: t('settings.awayFor'), input: awayFor, unit: t('unit.seconds'), hint: t('settings.awayForHint') });
  const push = toggle('push_notifications_enabled', t('settings.push'), t('settings.pushHint'));
  const email = toggle('email_notifications_enabled', t('settings.email'), t('settings.emailHint'));
  const saveBtn = h('button', { type: 'submit', class: 'btn primary block' }, t('settings.save'));
  const alertsHeading = h('h2', { id: 'set-alerts-h' }, t('settings.alertsFor', { name: '' }));
  const fieldset = h('fieldset', { disabled: true }, fTemp.el, fCry.el, fAway.el, push.el, email.el);
  const form = h('form', { class: 'card form', novalidate: true, 'aria-labelledby': 'set-alerts-h', 'data-form': 'alert-settings' }, alertsHeading, switcher.el, fieldset, formMsg.el, saveBtn);

  /** Fills the form from the hub. */
  async function loadSettings() {
    const uuid = state.selected;
    formMsg.clear();
    for (const f of [fTemp, fCry, fAway]) f.setError('');
    if (!uuid) {
      form.hidden = true;
      return;
    }
    form.hidden = false;
    setText(alertsHeading, t('settings.alertsFor', { name: cradleName(uuid) }));
    fieldset.disabled = true;
    saveBtn.disabled = true;
    try {
      const s = await api.settings(uuid);
      if (uuid !== state.selected) return;
      maxTemp.value = String(s.max_temperature);
      cryFor.value = String(s.crying_duration_threshold);
      awayFor.value = String(s.abnormal_position_timeout);
      push.input.checked = s.push_notifications_enabled;
      email.input.checked = s.email_notifications_enabled;
      fieldset.disabled = false;
      saveBtn.disabled = false;
      form.dataset.loaded = 'true';
    } catch (e) {
      formMsg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
    }
  }

  /** Client-side checks; returns the values or null. @returns {AlertSettings | null} */
  function validate() {
    let ok = true;
    const temp = Number(maxTemp.value.replace(',', '.'));
    if (!maxTemp.value.trim() || !Number.isFinite(temp) || temp < LIMITS.max_temperature.min || temp > LIMITS.max_temperature.max) {
      fTemp.setError(t('settings.tempRange'));
      ok = false;
    } else fTemp.setError('');
    /** @param {HTMLInputElement} input @param {ReturnType<typeof field>} f */
    const secs = (input, f) => {
      const v = Number(input.value);
      if (!input.value.trim() || !Number.isInteger(v) || v < LIMITS.seconds.min || v > LIMITS.seconds.max) {
        f.setError(t('settings.secondsRange'));
        ok = false;
        return 0;
      }
      f.setError('');
      return v;
    };
    const cry = secs(cryFor, fCry);
    const away = secs(awayFor, fAway);
    if (!ok) return null;
    return {
      max_temperature: temp,
      crying_duration_threshold: cry,
      abnormal_position_timeout: away,
      push_notifications_enabled: push.input.checked,
      email_notifications_enabled: email.input.checked,
    };
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    formMsg.clear();
    const uuid = state.selected;
    const values = validate();
    if (!uuid) return;
    if (!values) {
      const bad = form.querySelector('[aria-invalid="true"]');
      if (bad instanceof HTMLElement) bad.focus();
      return;
    }
    busy(saveBtn, async () => {
      try {
        await api.saveSettings(uuid, values);
        formMsg.ok(t('settings.saved'));
      } catch (e) {
        const text = e instanceof ApiError ? e.message : t('error.unexpected');
        // A 400 names the field: show it there.
        const target = e instanceof ApiError && e.status === 400
          ? text.includes('max_temperature')
            ? fTemp
            : text.includes('crying_duration_threshold')
              ? fCry
              : text.includes('abnormal_position_timeout')
                ? fAway
                : null
          : null;
        if (target) target.setError(text);
        formMsg.error(text);
      }
    });
  });
  for (const input of [maxTemp, cryFor, awayFor]) input.addEventListener('input', () => formMsg.clear());
  offs.push(on('selected', loadSettings));
  loadSettings();

  // --- The cradle's connection password ------------------------------------------
  const pwCard = cradlePasswordCard();
  offs.push(pwCard.destroy);

  // --- Language ---------------------------------------------------------------
  const langCard = h('section', { class: 'card', 'aria-labelledby': 'set-lang-h' }, h('h2', { id: 'set-lang-h' }, t('settings.language')), langSwitch());

  // --- This device's notifications --------------------------------------------------
  const notifyState = h('p', { class: 'hint', role: 'status' }, '');
  const notifyBtn = h('button', { type: 'button', class: 'btn block' }, t('settings.allowNotify'));
  const drawNotify = () => {
    if (!('Notification' in window)) {
      notifyBtn.hidden = true;
      setText(notifyState, t('settings.notifyUnsupported'));
      return;
    }
    const p = Notification.permission;
    notifyBtn.hidden = p !== 'default';
    setText(notifyState, p === 'granted' ? t('settings.notifyOn') : p === 'denied' ? t('settings.notifyDenied') : t('settings.notifyHint'));
  };
  notifyBtn.addEventListener('click', async () => {
    try {
      await Notification.requestPermission();
    } catch {
      // Old Safari: callback form only; the state below tells the truth.
    }
    drawNotify();
  });
  drawNotify();
  const notifyCard = h('section', { class: 'card', 'aria-labelledby': 'set-notify-h' }, h('h2', { id: 'set-notify-h' }, t('settings.thisDevice')), notifyState, notifyBtn);

  // --- The hub's address -------------------------------------------------------------
  const hubUrls = h('ul', { class: 'urls' });
  const hubNote = h('p', { class: 'hint' }, '');
  const qr = h('img', { class: 'hub-qr', width: 200, height: 200, alt: t('settings.hubQrAlt'), src: api.hubQrUrl() });
  const version = h('p', { class: 'muted small' }, '\u00a0');
  api
    .hubInfo()
    .then((info) => {
      fill(hubUrls, ...info.urls.map((u) => h('li', {}, h('a', { href: u, class: 'link mono' }, u))));
      const first = info.urls[0] ?? '';
      qr.alt = t('settings.hubQrAltUrl', { url: first });
      const loopback = /^https?:\/\/(127\.|localhost|\[::1\])/.test(first);
      fill(hubNote, loopback ? t('settings.hubLoopback') : t('settings.hubHint'), loopback ? h('code', { class: 'nowrap' }, ' --http-addr 0.0.0.0:8080') : '');
      setText(version, t('settings.version', { v: info.version }));
    })
    .catch(() => setText(hubNote, t('error.unreachable')));
  const hubCard = h(
    'section',
    { class: 'card hub', 'aria-labelledby': 'set-hub-h' },
    h('h2', { id: 'set-hub-h' }, t('settings.hubTitle')),
    hubNote,
    h('div', { class: 'hub-row' }, qr, hubUrls),
  );

  // --- Cradles -------------------------------------------------------------------------
  const cradleMsg = messageBox();
  const cradleList = h('ul', { class: 'cradle-list' });
  /** @type {string | null} */
  let confirming = null;
  /** "Online" / "Offline since 3:12 AM" of one cradle, updated in place. @param {HTMLElement} line */
  function setPresenceLine(line) {
    const uuid = line.dataset.presenceOf ?? '';
    const p = presenceOf(uuid);
    const text =
      p.state === 'online'
        ? t('presence.online')
        : p.state === 'offline'
          ? p.since !== null || p.lastSeen !== null
            ? t('presence.offlineSince', { time: formatAt(/** @type {number} */ (p.since ?? p.lastSeen)) })
            : t('presence.offline')
          : p.state === 'never'
            ? t('presence.never')
            : '';
    line.hidden = !text;
    line.dataset.presence = p.state;
    const words = line.querySelector('.presence-words');
    if (words) setText(words, text);
    const dot = line.querySelector('.presence-dot');
    if (dot instanceof HTMLElement) setPresenceDot(dot);
  }
  /** @param {string} uuid */
  function presenceLine(uuid) {
    const dot = presenceDot(uuid);
    // The words say it already.
    dot.setAttribute('aria-hidden', 'true');
    const line = h('span', { class: 'presence-line', 'data-presence-of': uuid }, dot, h('span', { class: 'presence-words' }));
    setPresenceLine(line);
    return line;
  }
  function drawCradles() {
    if (!state.cradles.length) {
      fill(cradleList, h('li', { class: 'muted' }, t('settings.noCradles')));
      return;
    }
    fill(
      cradleList,
      ...state.cradles.map((c) => {
        if (confirming === c.uuid) {
          const yes = h('button', { type: 'button', class: 'btn danger', 'data-action': 'confirm-remove' }, t('settings.removeYes'));
          const no = h('button', { type: 'button', class: 'btn' }, t('common.cancel'));
          yes.addEventListener('click', () =>
            busy(yes, async () => {
              try {
                await api.deleteCradle(c.uuid);
                confirming = null;
                cradleMsg.ok(t('settings.removed', { name: cradleName(c.uuid) }));
                await loadCradles();
                refreshEvents();
              } catch (e) {
                cradleMsg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
              }
            }),
          );
          no.addEventListener('click', () => {
            confirming = null;
            drawCradles();
          });
          return h(
            'li',
            { class: 'confirm', role: 'alertdialog', 'aria-label': t('settings.removeConfirm', { name: cradleName(c.uuid) }) },
            h('p', {}, t('settings.removeConfirm', { name: cradleName(c.uuid) })),
            h('div', { class: 'row' }, yes, no),
          );
        }
        const remove = h('button', { type: 'button', class: 'btn small ghost-danger', 'data-action': 'remove', 'aria-label': t('settings.removeNamed', { name: cradleName(c.uuid) }) }, t('settings.remove'));
        remove.addEventListener('click', () => {
          confirming = c.uuid;
          drawCradles();
          const yes = cradleList.querySelector('[data-action="confirm-remove"]');
          if (yes instanceof HTMLElement) yes.focus();
        });
        return h(
          'li',
          { 'data-uuid': c.uuid },
          h(
            'div',
            { class: 'cradle-info' },
            h('span', { class: 'mono' }, cradleName(c.uuid)),
            h(
              'span',
              { class: 'cradle-meta' },
              presenceLine(c.uuid),
              c.mqtt_password_required ? h('span', { class: 'lock' }, t('presence.passwordOn')) : null,
            ),
          ),
          remove,
        );
      }),
    );
  }
  offs.push(on('cradles', drawCradles));
  offs.push(
    on('presence', (uuid) => {
      for (const line of cradleList.querySelectorAll('.presence-line')) {
        if (line instanceof HTMLElement && line.dataset.presenceOf === uuid) setPresenceLine(line);
      }
    }),
  );
  drawCradles();
  const cradlesCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'set-cradles-h' },
    h('h2', { id: 'set-cradles-h' }, t('settings.cradles')),
    cradleMsg.el,
    cradleList,
    h('a', { href: '#/add', class: 'btn block' }, t('settings.addCradle')),
  );

  // --- Account --------------------------------------------------------------------------
  const logoutBtn = h('button', { type: 'button', class: 'btn block', 'data-action': 'logout' }, t('settings.logout'));
  logoutBtn.addEventListener('click', () => busy(logoutBtn, logout));
  const accountCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'set-account-h' },
    h('h2', { id: 'set-account-h' }, t('settings.account')),
    state.user ? h('p', {}, t('settings.loggedInAs', { name: state.user.username })) : null,
    logoutBtn,
    version,
  );

  const el = page(
    t('settings.title'),
    'settings',
    h(
      'div',
      { class: 'settings-grid' },
      // Two columns on wide screens: the selected cradle's settings, the rest.
      h('div', { class: 'settings-col' }, form, pwCard.el),
      h('div', { class: 'settings-col' }, langCard, notifyCard, hubCard, cradlesCard, accountCard),
    ),
  );
  return { el, title: t('settings.title'), destroy: () => offs.forEach((f) => f()) };
}
