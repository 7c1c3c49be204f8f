// Settings: per cradle, its alert thresholds (baby, cradle offline, camera,
// thermometer), motor limit and soothing, and notifications; the cradle's
// connection password, language, this device's notifications, the hub's
// address (and its QR code for a phone), the account's cradles (online or
// not), the devices signed in to the account, changing its password, and
// logging out.

import { api, ApiError } from '../api.js';
import { h, fill, setText } from '../dom.js';
import { t } from '../i18n.js';
import { state, on, loadCradles } from '../state.js';
import { refreshEvents } from '../events.js';
import { busy, cradleName, cradleSwitcher, field, langSwitch, messageBox, page, presenceDot, setPresenceDot } from '../components.js';
import { presenceOf } from '../presence.js';
import { formatAt } from '../format.js';
import { cradlePasswordCard } from './cradle-password.js';
import { devicesCard, emailCard, passwordCard } from './account.js';
import { mayOperate, openMembers, refreshRolesOn403, roleBadge, roleOf } from './members.js';

/** @typedef {import('../api.js').AlertSettings} AlertSettings */

export const LIMITS = {
  max_temperature: { min: 30, max: 45 },
  seconds: { min: 0, max: 86_400 },
  offline_after: { min: 10, max: 3600 },
  camera_silent_after: { min: 10, max: 3600 },
  max_rock_minutes: { min: 1, max: 60 },
  soothe_after: { min: 5, max: 600 },
  soothe_minutes: { min: 1, max: 60 },
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

/**
 * A whole number of seconds or minutes within `range`, with its unit.
 * @typedef {{name: keyof AlertSettings, input: HTMLInputElement, f: ReturnType<typeof field>,
 *   range: {min: number, max: number}, unit: 'seconds' | 'minutes'}} WholeField
 * @param {keyof AlertSettings} name
 * @param {string} label @param {string} hint
 * @param {{min: number, max: number}} range
 * @param {'seconds' | 'minutes'} unit
 * @returns {WholeField}
 */
function whole(name, label, hint, range, unit) {
  const input = h('input', { type: 'number', name, inputmode: 'numeric', min: range.min, max: range.max, step: 1, required: true });
  const f = field({ label, input, unit: unit === 'seconds' ? t('unit.seconds') : t('unit.minutes'), hint });
  return { name, input, f, range, unit };
}

/** A group of settings under its own heading. @param {string} legend @param {...import('../dom.js').Child} children */
function group(legend, ...children) {
  return h('fieldset', { class: 'group' }, h('legend', {}, legend), ...children);
}

/** @param {() => Promise<void>} logout @returns {import('../app.js').Screen} */
export function settingsScreen(logout) {
  const offs = /** @type {(() => void)[]} */ ([]);

  // --- Alert settings of the selected cradle -----------------------------------
  const switcher = cradleSwitcher();
  offs.push(switcher.destroy);
  const formMsg = messageBox();
  const maxTemp = h('input', { type: 'number', name: 'max_temperature', inputmode: 'decimal', min: 30, max: 45, step: 0.1, required: true });
  const fTemp = field({ label: t('settings.maxTemp'), input: maxTemp, unit: '°C', hint: t('settings.maxTempHint') });
  const cry = whole('crying_duration_threshold', t('settings.cryFor'), t('settings.cryForHint'), LIMITS.seconds, 'seconds');
  const away = whole('abnormal_position_timeout', t('settings.awayFor'), t('settings.awayForHint'), LIMITS.seconds, 'seconds');
  const offline = toggle('offline_alert_enabled', t('settings.offlineAlert'), t('settings.offlineAlertHint'));
  const offlineAfter = whole('offline_after', t('settings.offlineAfter'), t('settings.offlineAfterHint'), LIMITS.offline_after, 'seconds');
  const camera = toggle('camera_silent_alert_enabled', t('settings.cameraAlert'), t('settings.cameraAlertHint'));
  const cameraAfter = whole('camera_silent_after', t('settings.cameraAfter'), t('settings.cameraAfterHint'), LIMITS.camera_silent_after, 'seconds');
  const sensor = toggle('sensor_fault_alert_enabled', t('settings.sensorAlert'), t('settings.sensorAlertHint'));
  const maxRock = whole('max_rock_minutes', t('settings.maxRock'), t('settings.maxRockHint'), LIMITS.max_rock_minutes, 'minutes');
  const soothing = toggle('soothing_enabled', t('settings.soothing'), t('settings.soothingHint'));
  const sootheAfter = whole('soothe_after', t('settings.sootheAfter'), t('settings.sootheAfterHint'), LIMITS.soothe_after, 'seconds');
  const sootheMinutes = whole('soothe_minutes', t('settings.sootheMinutes'), t('settings.sootheMinutesHint'), LIMITS.soothe_minutes, 'minutes');
  const push = toggle('push_notifications_enabled', t('settings.push'), t('settings.pushHint'));
  const email = toggle('email_notifications_enabled', t('settings.email'), t('settings.emailHint'));
  /** Number fields, in the form's order. */
  const wholes = [cry, away, offlineAfter, cameraAfter, maxRock, sootheAfter, sootheMinutes];
  /** Switches and the fields that mean nothing while they are off. */
  const switches = [
    { name: /** @type {const} */ ('offline_alert_enabled'), input: offline.input, needs: [offlineAfter] },
    { name: /** @type {const} */ ('camera_silent_alert_enabled'), input: camera.input, needs: [cameraAfter] },
    { name: /** @type {const} */ ('sensor_fault_alert_enabled'), input: sensor.input, needs: [] },
    { name: /** @type {const} */ ('soothing_enabled'), input: soothing.input, needs: [sootheAfter, sootheMinutes] },
    { name: /** @type {const} */ ('push_notifications_enabled'), input: push.input, needs: [] },
    { name: /** @type {const} */ ('email_notifications_enabled'), input: email.input, needs: [] },
  ];
  /** Fields under a switch that is off are dimmed and not sent (the hub keeps them). */
  const syncSwitches = () => {
    for (const sw of switches) {
      for (const w of sw.needs) {
        w.input.disabled = !sw.input.checked;
        w.f.el.dataset.off = String(!sw.input.checked);
      }
    }
  };
  for (const sw of switches) sw.input.addEventListener('change', syncSwitches);
  const saveBtn = h('button', { type: 'submit', class: 'btn primary block' }, t('settings.save'));
  // A viewer sees the settings, read-only, and is told why.
  const readOnlyNote = h('p', { class: 'msg info', 'data-note': 'settings-read-only', hidden: true }, t('household.settingsReadOnly'));
  const alertsHeading = h('h2', { id: 'set-alerts-h' }, t('settings.alertsFor', { name: '' }));
  const fieldset = h(
    'fieldset',
    { disabled: true },
    group(t('settings.groupBaby'), fTemp.el, cry.f.el, away.f.el),
    group(t('settings.groupOffline'), offline.el, offlineAfter.f.el),
    group(t('settings.groupCamera'), camera.el, cameraAfter.f.el),
    group(t('settings.groupThermometer'), sensor.el),
    group(t('settings.groupMotor'), maxRock.f.el, soothing.el, sootheAfter.f.el, sootheMinutes.f.el),
    group(t('settings.groupNotify'), push.el, email.el),
  );
  const form = h('form', { class: 'card form', novalidate: true, 'aria-labelledby': 'set-alerts-h', 'data-form': 'alert-settings' }, alertsHeading, switcher.el, readOnlyNote, fieldset, formMsg.el, saveBtn);

  /** Fills the form from the hub. */
  async function loadSettings() {
    const uuid = state.selected;
    formMsg.clear();
    fTemp.setError('');
    for (const w of wholes) w.f.setError('');
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
      // A hub without a field leaves it empty (and it is not sent back).
      for (const w of wholes) w.input.value = typeof s[w.name] === 'number' ? String(s[w.name]) : '';
      for (const sw of switches) sw.input.checked = s[sw.name] === true;
      syncSwitches();
      fieldset.disabled = !mayOperate(uuid);
      saveBtn.disabled = false;
      form.dataset.loaded = 'true';
    } catch (e) {
      formMsg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
    }
  }

  /** Client-side checks; returns the values to send or null. @returns {Partial<AlertSettings> | null} */
  function validate() {
    let ok = true;
    /** @type {Partial<AlertSettings>} */
    const values = {};
    const temp = Number(maxTemp.value.replace(',', '.'));
    if (!maxTemp.value.trim() || !Number.isFinite(temp) || temp < LIMITS.max_temperature.min || temp > LIMITS.max_temperature.max) {
      fTemp.setError(t('settings.tempRange'));
      ok = false;
    } else {
      fTemp.setError('');
      values.max_temperature = temp;
    }
    for (const w of wholes) {
      if (w.input.disabled) {
        // Under a switch that is off: kept as it is on the hub.
        w.f.setError('');
        continue;
      }
      const raw = w.input.value.trim();
      const v = Number(raw);
      if (!raw || !Number.isInteger(v) || v < w.range.min || v > w.range.max) {
        const words = w === cry || w === away
          ? t('settings.secondsRange')
          : t(w.unit === 'seconds' ? 'settings.rangeSeconds' : 'settings.rangeMinutes', w.range);
        w.f.setError(words);
        ok = false;
        continue;
      }
      w.f.setError('');
      /** @type {Record<string, number>} */ (values)[w.name] = v;
    }
    for (const sw of switches) values[sw.name] = sw.input.checked;
    return ok ? values : null;
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
        refreshRolesOn403(e);
        const text = e instanceof ApiError ? e.message : t('error.unexpected');
        // A 400 names the field ("offline_after"): show it there.
        if (e instanceof ApiError && e.status === 400) {
          const fields = [{ name: 'max_temperature', f: fTemp }, ...wholes.map((w) => ({ name: w.name, f: w.f }))];
          fields.find((x) => text.includes(`"${x.name}"`))?.f.setError(text);
        }
        formMsg.error(text);
      }
    });
  });
  for (const input of [maxTemp, ...wholes.map((w) => w.input)]) input.addEventListener('input', () => formMsg.clear());
  offs.push(on('selected', loadSettings));
  loadSettings();

  // --- The cradle's connection password ------------------------------------------
  const pwCard = cradlePasswordCard();
  offs.push(pwCard.destroy);
  // The card shows itself for any selected cradle; this slot hides it from members.
  const pwSlot = h('div', { class: 'pw-slot' }, pwCard.el);

  // --- What the account's role on the selected cradle allows ---------------------------
  /** @type {boolean | null} */
  let operateShown = null;
  function applyRole() {
    const uuid = state.selected;
    const operate = mayOperate(uuid);
    readOnlyNote.hidden = !uuid || operate;
    saveBtn.hidden = !operate;
    if (!operate) fieldset.disabled = true;
    // Made a parent meanwhile: the form is filled again, now editable.
    else if (operateShown === false) loadSettings();
    operateShown = operate;
    // The cradle's connection password is the owner's.
    pwSlot.hidden = roleOf(uuid) !== 'owner';
  }
  offs.push(on('selected', applyRole), on('cradles', applyRole));
  applyRole();

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
  const notifyCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'set-notify-h' },
    h('h2', { id: 'set-notify-h' }, t('settings.thisDevice')),
    notifyState,
    notifyBtn,
    // Push when the app is closed, email, and per-cradle choices (screens/notify-settings.js).
    h('a', { href: '#/notify', class: 'btn block', 'data-nav-to': 'notify' }, t('notify.settingsLink')),
  );

  // --- The hub's address -------------------------------------------------------------
  const hubUrls = h('ul', { class: 'urls' });
  const hubNote = h('p', { class: 'hint' }, '');
  const qr = h('img', { class: 'hub-qr', width: 200, height: 200, alt: t('settings.hubQrAlt'), src: api.hubQrUrl() });
  const version = h('p', { class: 'muted small' }, '\u00a0');
  api
    .hubInfo()
    .then((info) => {
      // With HTTPS on, phones must use the https address, after trusting the
      // hub's own certificate authority (the /ca page says how).
      const https = info.tls && info.tls !== 'off' && info.https_urls?.length ? info.https_urls : null;
      const shown = https ?? info.urls;
      fill(hubUrls, ...shown.map((u) => h('li', {}, h('a', { href: u, class: 'link mono' }, u))));
      if (info.tls === 'self-signed') {
        hubUrls.append(h('li', {}, h('a', { href: '/ca', class: 'link', 'data-testid': 'hub-ca-link' }, t('settings.hubCa'))));
      }
      const first = shown[0] ?? '';
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
        const owner = roleOf(c.uuid) === 'owner';
        // Only the owner deletes a cradle; a member leaves it from its household.
        const remove = owner
          ? h('button', { type: 'button', class: 'btn small ghost-danger', 'data-action': 'remove', 'aria-label': t('settings.removeNamed', { name: cradleName(c.uuid) }) }, t('settings.remove'))
          : h('button', { type: 'button', class: 'btn small', 'data-action': 'household', 'aria-label': `${t('household.link')}: ${cradleName(c.uuid)}` }, t('household.link'));
        remove.addEventListener('click', () => {
          if (!owner) {
            openMembers(c.uuid);
            return;
          }
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
              roleBadge(roleOf(c.uuid) ?? 'owner'),
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
    h('a', { href: '#/join', class: 'btn block join-entry-btn', 'data-action': 'join-cradle' }, t('join.entry')),
    h('a', { href: '#/members', class: 'btn block join-entry-btn', 'data-action': 'members' }, t('household.membersLink')),
  );

  // --- Signed-in devices and the account's password ---------------------------------------
  const devices = devicesCard();
  offs.push(devices.destroy);
  const pwChange = passwordCard(() => {
    devices.reload();
  });

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
      h('div', { class: 'settings-col' }, form, pwSlot),
      h('div', { class: 'settings-col' }, langCard, notifyCard, hubCard, cradlesCard, devices.el, pwChange.el, emailCard().el, accountCard),
    ),
  );
  return { el, title: t('settings.title'), destroy: () => offs.forEach((f) => f()) };
}
