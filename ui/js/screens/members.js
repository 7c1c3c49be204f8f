// The household of a cradle: who may see it and with which role, invites
// (a 6-digit code and a QR code of the join link, valid 10 minutes),
// changing roles, handing ownership over, removing members or leaving, and
// the owner's switch for the Smart Cradle app's live view on this network.
// Also the role helpers every screen uses to hide what a member may not do.

import { api, ApiError } from '../api.js';
import { h, fill, setText } from '../dom.js';
import { t } from '../i18n.js';
import { hubNow, parseTime } from '../clock.js';
import { state, on, loadCradles, selectCradle } from '../state.js';
import { refreshEvents } from '../events.js';
import { go } from '../nav.js';
import { busy, cradleName, cradleSwitcher, messageBox } from '../components.js';
import { formatCountdown, formatRelative } from '../format.js';
import { copyText } from './cradle-password.js';

/**
 * @typedef {import('../api.js').Role} Role
 * @typedef {import('../api.js').Member} Member
 * @typedef {import('../api.js').Invite} Invite
 */

/**
 * The signed-in account's role on a cradle. A hub from before households
 * lists only owned cradles, without a role.
 * @param {string | null | undefined} uuid
 * @returns {Role | null} null for a cradle not in the list
 */
export function roleOf(uuid) {
  const c = uuid ? state.cradles.find((x) => x.uuid === uuid) : undefined;
  if (!c) return null;
  return c.role ?? 'owner';
}

/** May rock, resolve alerts and change alert settings (parent or owner). @param {string | null | undefined} uuid */
export function mayOperate(uuid) {
  const role = roleOf(uuid);
  return role === 'owner' || role === 'parent';
}

/** @param {Role | string} role */
export function roleName(role) {
  return role === 'owner' ? t('role.owner') : role === 'parent' ? t('role.parent') : role === 'viewer' ? t('role.viewer') : role;
}

/** The role inside a sentence: "a parent", "the owner". @param {Role | string} role */
export function roleWord(role) {
  return role === 'owner' ? t('role.ownerWord') : role === 'parent' ? t('role.parentWord') : role === 'viewer' ? t('role.viewerWord') : role;
}

/** A small "Owner" / "Parent" / "Viewer" badge. @param {Role | string} role */
export function roleBadge(role) {
  return h('span', { class: 'role-badge', 'data-role': role }, roleName(role));
}

/**
 * A 403 means the account's role changed meanwhile (the owner made it a
 * viewer, or handed ownership over): the cradle list, which carries the
 * roles, is read again so every screen shows what it may do now.
 * @param {unknown} e
 */
export function refreshRolesOn403(e) {
  if (e instanceof ApiError && e.status === 403) loadCradles().catch(() => {});
}

/** "123 456": easier to read out and type. @param {string} code */
export function groupCode(code) {
  return code.length === 6 ? `${code.slice(0, 3)} ${code.slice(3)}` : code;
}

/** A button that copies `text` and says so for two seconds. @param {string} label @param {() => string} text @param {string} action */
function copyButton(label, text, action) {
  const btn = h('button', { type: 'button', class: 'btn small copy', 'data-action': action }, label);
  let timer = 0;
  btn.addEventListener('click', async () => {
    const ok = await copyText(text());
    btn.dataset.copied = String(ok);
    setText(btn, ok ? t('pw.copied') : t('pw.copyFailed'));
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      delete btn.dataset.copied;
      setText(btn, label);
    }, 2000);
  });
  return btn;
}

/** @returns {import('../app.js').Screen} */
export function membersScreen() {
  const offs = /** @type {(() => void)[]} */ ([]);
  const switcher = cradleSwitcher();
  offs.push(switcher.destroy);
  const msg = messageBox();
  const title = h('h1', { class: 'screen-title' }, t('members.title'));
  const subtitle = h('p', { class: 'lead members-sub' }, '\u00a0');

  /** @type {Member[]} */
  let members = [];
  /** @type {Invite[]} */
  let invites = [];
  /** @type {{kind: 'owner' | 'remove' | 'leave', userId: number} | null} */
  let confirming = null;
  /** The invite shown big (code, QR, link), with its join link. @type {{invite: Invite, joinUrl: string} | null} */
  let shown = null;
  /** Where join links point (the hub's address as the hub sees it): from the last invite made. */
  let joinBase = `${location.origin}/`;
  let loadSeq = 0;
  /** My role as the members list says (fresher than the cradle list); null until it answered. @type {Role | null} */
  let myRole = null;

  // --- Members --------------------------------------------------------------------
  const list = h('ul', { class: 'member-list', 'aria-label': t('members.listLabel') });
  const membersCard = h('section', { class: 'card', 'aria-labelledby': 'members-h' }, h('h2', { id: 'members-h' }, t('members.listTitle')), list);

  // --- Leaving (a member who is not the owner) -----------------------------------------
  const leaveSlot = h('div', {});
  const leaveCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'leave-h', hidden: true },
    h('h2', { id: 'leave-h' }, t('members.leaveTitle')),
    h('p', { class: 'hint' }, t('members.leaveHint')),
    leaveSlot,
  );

  // --- Invites (owner) ----------------------------------------------------------------------
  const ROLE_INPUT = 'invite-role';
  /** @param {'parent' | 'viewer'} role @param {boolean} checked */
  const roleChoice = (role, checked) => {
    const input = h('input', { type: 'radio', name: ROLE_INPUT, value: role, id: `invite-role-${role}`, checked });
    return h(
      'label',
      { class: 'role-choice', for: input.id, 'data-role': role },
      input,
      h('span', { class: 'role-choice-text' }, h('strong', {}, roleName(role)), h('span', { class: 'hint' }, t(role === 'parent' ? 'invite.parentCan' : 'invite.viewerCan'))),
    );
  };
  const inviteBtn = h('button', { type: 'submit', class: 'btn primary block', 'data-action': 'create-invite' }, t('invite.create'));
  const inviteMsg = messageBox();
  const inviteForm = h(
    'form',
    { class: 'invite-form', novalidate: true },
    h('fieldset', { class: 'role-choices' }, h('legend', {}, t('invite.roleLegend')), roleChoice('viewer', true), roleChoice('parent', false)),
    inviteBtn,
  );
  const shownSlot = h('div', { class: 'invite-shown', 'aria-live': 'polite' });
  const openList = h('ul', { class: 'invite-list' });
  const openTitle = h('h3', { class: 'invite-open-title' }, t('invite.open'));
  const inviteCard = h(
    'section',
    { class: 'card invite-card', 'aria-labelledby': 'invite-h', hidden: true },
    h('h2', { id: 'invite-h' }, t('invite.title')),
    h('p', { class: 'hint' }, t('invite.hint')),
    inviteForm,
    inviteMsg.el,
    shownSlot,
    openTitle,
    openList,
  );

  // --- The app's live view on this network (owner) ---------------------------------------
  const lanInput = h('input', { type: 'checkbox', role: 'switch', name: 'lan_app_view', id: 'lan-app-view', disabled: true });
  const lanMsg = messageBox();
  const lanCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'lan-h', hidden: true, 'data-card': 'lan-app-view' },
    h('h2', { id: 'lan-h' }, t('lanView.title')),
    h(
      'div',
      { class: 'toggle-row' },
      h('label', { for: lanInput.id }, h('span', { class: 'toggle-text' }, h('span', {}, t('lanView.switch')), h('span', { class: 'hint' }, t('lanView.tradeoff'))), lanInput),
    ),
    lanMsg.el,
  );
  lanInput.addEventListener('change', async () => {
    const uuid = state.selected;
    if (!uuid) return;
    const want = lanInput.checked;
    lanInput.disabled = true;
    lanMsg.clear();
    try {
      await api.setLanAppView(uuid, want);
      lanMsg.ok(want ? t('lanView.nowOn') : t('lanView.nowOff'));
    } catch (e) {
      lanInput.checked = !want;
      lanMsg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
      refreshRolesOn403(e);
    } finally {
      lanInput.disabled = false;
    }
  });

  // --- Drawing ----------------------------------------------------------------------------------

  /** @param {Member} m */
  function memberItem(m) {
    const uuid = state.selected ?? '';
    const owner = myRole === 'owner';
    const name = h('span', { class: 'member-name' }, m.username, m.you ? h('span', { class: 'member-you' }, ` ${t('members.you')}`) : null);
    const info = h('div', { class: 'member-info' }, h('span', { class: 'member-head' }, name, roleBadge(m.role)));
    const added = parseTime(m.added_at);
    if (added !== null && m.role !== 'owner') info.append(h('span', { class: 'hint' }, t('members.added', { ago: formatRelative(added) })));

    if (confirming && confirming.userId === m.user_id && confirming.kind !== 'leave') {
      const transfer = confirming.kind === 'owner';
      const text = transfer
        ? t('members.transferConfirm', { name: m.username, cradle: cradleName(uuid) })
        : t('members.removeConfirm', { name: m.username, cradle: cradleName(uuid) });
      const yes = h('button', { type: 'button', class: 'btn danger', 'data-action': transfer ? 'confirm-transfer' : 'confirm-remove' }, transfer ? t('members.transferYes') : t('members.removeYes'));
      const no = h('button', { type: 'button', class: 'btn' }, t('common.cancel'));
      yes.addEventListener('click', () =>
        busy(yes, async () => {
          try {
            if (transfer) {
              await api.setMemberRole(uuid, m.user_id, 'owner');
              msg.ok(t('members.transferred', { name: m.username }));
              // My own role changed: every screen must know.
              await loadCradles();
            } else {
              await api.removeMember(uuid, m.user_id);
              msg.ok(t('members.removed', { name: m.username }));
            }
            confirming = null;
            await load();
          } catch (e) {
            msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
            refreshRolesOn403(e);
          }
        }),
      );
      no.addEventListener('click', () => {
        confirming = null;
        draw();
      });
      return h(
        'li',
        { class: 'member confirm', role: 'alertdialog', 'aria-label': text, 'data-user-id': m.user_id },
        h('p', {}, text),
        h('div', { class: 'row' }, yes, no),
      );
    }

    /** @type {HTMLElement | null} */
    let actions = null;
    if (owner && m.role !== 'owner') {
      /** @param {'parent' | 'viewer'} role */
      const roleBtn = (role) => {
        const b = h(
          'button',
          { type: 'button', class: 'chip', 'aria-pressed': String(m.role === role), 'data-set-role': role },
          roleName(role),
        );
        b.addEventListener('click', () => {
          if (m.role === role) return;
          busy(b, async () => {
            try {
              await api.setMemberRole(uuid, m.user_id, role);
              msg.ok(t('members.roleChanged', { name: m.username, role: roleWord(role) }));
              await load();
            } catch (e) {
              msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
              refreshRolesOn403(e);
            }
          });
        });
        return b;
      };
      const transferBtn = h('button', { type: 'button', class: 'btn small', 'data-action': 'transfer' }, t('members.makeOwner'));
      const removeBtn = h('button', { type: 'button', class: 'btn small ghost-danger', 'data-action': 'remove', 'aria-label': t('members.removeNamed', { name: m.username }) }, t('members.remove'));
      for (const [btn, kind] of /** @type {const} */ ([[transferBtn, 'owner'], [removeBtn, 'remove']])) {
        btn.addEventListener('click', () => {
          confirming = { kind, userId: m.user_id };
          msg.clear();
          draw();
          const yes = list.querySelector('.confirm .btn.danger');
          if (yes instanceof HTMLElement) yes.focus();
        });
      }
      actions = h(
        'div',
        { class: 'member-actions' },
        h('div', { class: 'role-switch', role: 'group', 'aria-label': t('members.roleOf', { name: m.username }) }, roleBtn('parent'), roleBtn('viewer')),
        h('div', { class: 'row' }, transferBtn, removeBtn),
      );
    }
    return h('li', { class: 'member', 'data-user-id': m.user_id, 'data-role': m.role, 'data-you': String(m.you) }, info, actions);
  }

  function drawLeave() {
    const me = members.find((m) => m.you);
    leaveCard.hidden = !me || me.role === 'owner';
    if (!me || me.role === 'owner') return;
    const uuid = state.selected ?? '';
    if (confirming?.kind === 'leave') {
      const text = t('members.leaveConfirm', { cradle: cradleName(uuid) });
      const yes = h('button', { type: 'button', class: 'btn danger', 'data-action': 'confirm-leave' }, t('members.leaveYes'));
      const no = h('button', { type: 'button', class: 'btn' }, t('common.cancel'));
      yes.addEventListener('click', () =>
        busy(yes, async () => {
          try {
            await api.removeMember(uuid, me.user_id);
            confirming = null;
            await loadCradles();
            refreshEvents();
            go(state.cradles.length ? '#/live' : '#/welcome');
          } catch (e) {
            msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
          }
        }),
      );
      no.addEventListener('click', () => {
        confirming = null;
        drawLeave();
      });
      fill(leaveSlot, h('div', { class: 'leave-confirm', role: 'alertdialog', 'aria-label': text }, h('p', {}, text), h('div', { class: 'row' }, yes, no)));
      yes.focus();
      return;
    }
    const leave = h('button', { type: 'button', class: 'btn block ghost-danger', 'data-action': 'leave' }, t('members.leave'));
    leave.addEventListener('click', () => {
      confirming = { kind: 'leave', userId: me.user_id };
      drawLeave();
    });
    fill(leaveSlot, leave);
  }

  /** How long an invite has left, or that it expired. @param {string} expiresAt */
  function expiryText(expiresAt) {
    const ms = parseTime(expiresAt);
    if (ms === null) return '';
    const left = ms - hubNow();
    return left > 0 ? t('invite.expiresIn', { t: formatCountdown(left) }) : t('invite.expired');
  }

  /** @param {Invite} inv */
  async function revoke(inv) {
    const uuid = state.selected;
    if (!uuid) return;
    try {
      await api.revokeInvite(uuid, inv.id);
      if (shown?.invite.id === inv.id) shown = null;
      inviteMsg.ok(t('invite.revoked', { code: groupCode(inv.code) }));
      await loadInvites();
    } catch (e) {
      inviteMsg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
      refreshRolesOn403(e);
    }
  }

  function drawShown() {
    if (!shown) {
      fill(shownSlot);
      return;
    }
    const { invite, joinUrl } = shown;
    const revokeBtn = h('button', { type: 'button', class: 'btn ghost-danger', 'data-action': 'revoke-shown' }, t('invite.revoke'));
    revokeBtn.addEventListener('click', () => busy(revokeBtn, () => revoke(invite)));
    const hideBtn = h('button', { type: 'button', class: 'btn' }, t('invite.hide'));
    hideBtn.addEventListener('click', () => {
      shown = null;
      drawShown();
    });
    fill(
      shownSlot,
      h(
        'div',
        { class: 'invite-box', 'data-invite-id': invite.id, 'data-role': invite.role },
        h('p', { class: 'invite-for' }, t('invite.codeFor', { role: roleWord(invite.role) })),
        h(
          'div',
          { class: 'invite-code-row' },
          h('p', { class: 'invite-code', 'data-code': invite.code, 'aria-label': invite.code.split('').join(' ') }, groupCode(invite.code)),
          copyButton(t('invite.copyCode'), () => invite.code, 'copy-code'),
        ),
        h('p', { class: 'invite-expiry', 'data-expires': invite.expires_at }, expiryText(invite.expires_at)),
        h('img', { class: 'invite-qr', src: api.qrUrl(joinUrl), width: 200, height: 200, alt: t('invite.qrAlt', { url: joinUrl }) }),
        h('p', { class: 'hint' }, t('invite.qrHint')),
        h('p', { class: 'invite-link' }, h('a', { class: 'link mono', href: joinUrl, 'data-join-url': joinUrl }, joinUrl)),
        h('div', { class: 'row' }, copyButton(t('invite.copyLink'), () => joinUrl, 'copy-link'), revokeBtn, hideBtn),
      ),
    );
  }

  function drawInvites() {
    const open = invites.filter((i) => (parseTime(i.expires_at) ?? 0) > hubNow());
    openTitle.hidden = !open.length;
    fill(
      openList,
      ...open.map((inv) => {
        const showBtn = h('button', { type: 'button', class: 'btn small', 'data-action': 'show-invite' }, t('invite.show'));
        showBtn.addEventListener('click', () => {
          shown = { invite: inv, joinUrl: `${joinBase}#/join/${inv.code}` };
          drawShown();
          shownSlot.scrollIntoView({ block: 'nearest' });
        });
        const revokeBtn = h('button', { type: 'button', class: 'btn small ghost-danger', 'data-action': 'revoke', 'aria-label': t('invite.revokeNamed', { code: groupCode(inv.code) }) }, t('invite.revoke'));
        revokeBtn.addEventListener('click', () => busy(revokeBtn, () => revoke(inv)));
        return h(
          'li',
          { class: 'invite-item', 'data-invite-id': inv.id, 'data-code': inv.code },
          h(
            'div',
            { class: 'invite-info' },
            h('span', { class: 'mono invite-item-code' }, groupCode(inv.code)),
            h('span', { class: 'invite-meta' }, roleBadge(inv.role), h('span', { class: 'invite-expiry', 'data-expires': inv.expires_at }, expiryText(inv.expires_at))),
          ),
          h('div', { class: 'row' }, showBtn, revokeBtn),
        );
      }),
    );
  }

  function draw() {
    const uuid = state.selected;
    setText(title, t('members.title'));
    fill(subtitle, uuid ? cradleName(uuid) : '', myRole ? ' · ' : '', myRole ? t('members.yourRole', { role: roleName(myRole) }) : '');
    fill(list, ...members.map(memberItem));
    drawLeave();
    const owner = myRole === 'owner';
    inviteCard.hidden = !owner;
    lanCard.hidden = !owner;
    drawShown();
    drawInvites();
  }

  /** Every second: the countdowns, and an expired shown code says so. */
  function tick() {
    for (const el of document.querySelectorAll('.members [data-expires]')) {
      if (el instanceof HTMLElement) setText(el, expiryText(el.dataset.expires ?? ''));
    }
    const box = shownSlot.querySelector('.invite-box');
    if (box instanceof HTMLElement && shown) box.dataset.expired = String((parseTime(shown.invite.expires_at) ?? 0) <= hubNow());
    // Expired ones leave the open list.
    if (invites.some((i) => (parseTime(i.expires_at) ?? 0) <= hubNow())) {
      invites = invites.filter((i) => (parseTime(i.expires_at) ?? 0) > hubNow());
      drawInvites();
    }
  }

  async function loadInvites() {
    const uuid = state.selected;
    if (!uuid || myRole !== 'owner') {
      invites = [];
      drawInvites();
      return;
    }
    try {
      const list_ = await api.invites(uuid);
      if (uuid !== state.selected) return;
      invites = list_;
      drawInvites();
    } catch (e) {
      inviteMsg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
    }
  }

  async function loadLanView() {
    const uuid = state.selected;
    if (!uuid || myRole !== 'owner') return;
    lanInput.disabled = true;
    try {
      const { enabled } = await api.lanAppView(uuid);
      if (uuid !== state.selected) return;
      lanInput.checked = enabled;
      lanInput.disabled = false;
    } catch (e) {
      lanMsg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
    }
  }

  async function load() {
    const uuid = state.selected;
    const seq = ++loadSeq;
    if (!uuid) return;
    try {
      const got = await api.members(uuid);
      if (seq !== loadSeq || uuid !== state.selected) return;
      members = got;
      const mine = got.find((m) => m.you)?.role ?? roleOf(uuid);
      const becameOwner = mine === 'owner' && myRole !== 'owner';
      myRole = mine;
      // The cradle list's role is older than this answer: read it again.
      if (mine && mine !== roleOf(uuid)) loadCradles().catch(() => {});
      list.dataset.loaded = 'true';
      draw();
      if (becameOwner) loadLanView();
      await loadInvites();
    } catch (e) {
      if (seq !== loadSeq) return;
      msg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
    }
  }

  inviteForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const uuid = state.selected;
    if (!uuid) return;
    const picked = inviteForm.querySelector(`input[name=${ROLE_INPUT}]:checked`);
    const role = picked instanceof HTMLInputElement && picked.value === 'parent' ? 'parent' : 'viewer';
    inviteMsg.clear();
    busy(inviteBtn, async () => {
      try {
        const inv = await api.createInvite(uuid, role);
        const marker = `#/join/${inv.code}`;
        if (inv.join_url.endsWith(marker)) joinBase = inv.join_url.slice(0, -marker.length);
        shown = { invite: inv, joinUrl: inv.join_url };
        drawShown();
        await loadInvites();
        const code = shownSlot.querySelector('.invite-code');
        if (code instanceof HTMLElement) code.scrollIntoView({ block: 'nearest' });
      } catch (e) {
        inviteMsg.error(e instanceof ApiError ? e.message : t('error.unexpected'));
        refreshRolesOn403(e);
      }
    });
  });

  offs.push(
    on('selected', () => {
      members = [];
      invites = [];
      shown = null;
      confirming = null;
      myRole = null;
      msg.clear();
      inviteMsg.clear();
      lanMsg.clear();
      delete list.dataset.loaded;
      draw();
      load();
    }),
  );
  // The owner changed my role, or handed the cradle to me: what I may do here changed.
  offs.push(
    on('cradles', () => {
      const role = roleOf(state.selected);
      if (myRole !== null && role !== null && role !== myRole) load();
    }),
  );
  const ticker = window.setInterval(tick, 1000);
  offs.push(() => window.clearInterval(ticker));

  const el = h(
    'section',
    { class: 'screen members' },
    h('a', { href: '#/live', class: 'back link' }, `← ${t('members.back')}`),
    title,
    subtitle,
    switcher.el,
    msg.el,
    h('div', { class: 'members-grid' }, h('div', { class: 'members-col' }, membersCard, leaveCard), h('div', { class: 'members-col' }, inviteCard, lanCard)),
  );
  draw();
  load();
  return { el, title: t('members.title'), destroy: () => offs.forEach((f) => f()) };
}

/**
 * Opens the household screen of one cradle (selected first).
 * @param {string} uuid
 */
export async function openMembers(uuid) {
  await selectCradle(uuid);
  go('#/members');
}
