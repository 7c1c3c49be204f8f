// The app's own start page: shown while the hub starts, when it cannot be
// used (a remote hub that does not answer, a port already taken), and from
// the tray's "Choose hub…". It lists the hubs found on the LAN.
const ko = (navigator.language || '').toLowerCase().startsWith('ko');
const T = ko ? {
  starting: '허브를 시작하는 중…', connecting: '허브에 연결하는 중…', ready: '허브를 여는 중…',
  home: '이 컴퓨터에서 허브 실행', remote: '네트워크의 다른 허브 사용', scan: 'QR 사진…', apply: '연결',
  pinIntro: '이 허브는 자체 인증 기관으로 HTTPS를 사용합니다. 지문(SHA-256)이 허브에 표시된 것(설정 → HTTPS 또는 QR 코드)과 같은지 확인하세요:',
  trust: '이 허브를 신뢰하고 연결', cancel: '취소',
  looking: '이 네트워크에서 허브를 찾는 중…', found: '이 네트워크의 허브 (눌러서 연결):',
  choosing: '다른 허브에 연결하기 전까지 지금 허브를 계속 사용합니다.',
  restarting: '앱을 다시 시작합니다…', env: 'CRADLE_APP_REMOTE 환경 변수가 설정되어 있어 저장된 선택은 다음 실행부터 적용됩니다.',
} : {
  starting: 'Starting the hub…', connecting: 'Connecting to the hub…', ready: 'Opening the hub…',
  home: 'Run the hub on this computer', remote: 'Use a hub elsewhere on the network', scan: 'QR photo…', apply: 'Connect',
  pinIntro: 'This hub uses HTTPS with a certificate authority of its own. Check that its fingerprint (SHA-256) is the one the hub shows (Settings → HTTPS, or its QR code):',
  trust: 'Trust this hub and connect', cancel: 'Cancel',
  looking: 'Looking for hubs on this network…', found: 'Hubs on this network (click to connect):',
  choosing: 'The hub in use stays until you connect to another.',
  restarting: 'Restarting the app…', env: 'CRADLE_APP_REMOTE is set: the saved choice applies once it is unset.',
};
for (const el of document.querySelectorAll('[data-t]')) el.textContent = T[el.dataset.t];
const invoke = (cmd, args) => window.__TAURI_INTERNALS__.invoke(cmd, args);
const $ = (id) => document.getElementById(id);
let formFilled = false;
let fromEnv = false;
// The tray's "Choose hub…" opens this page with #choose: the form at once,
// while the hub in use goes on.
const choosing = location.hash === '#choose';
let hubUrl = null;

async function poll() {
  let info;
  try { info = await invoke('get_mode'); } catch (e) { $('error').textContent = String(e); return; }
  $('title').textContent = info.title;
  fromEnv = info.from_env;
  const s = info.status;
  hubUrl = s.hub_url || null;
  if (s.state === 'failed' || choosing) {
    if (s.state === 'failed') {
      $('status').textContent = '';
      $('error').textContent = s.error;
    }
    showHubs();
    if (!formFilled) {
      formFilled = true;
      if (choosing) $('status').textContent = T.choosing;
      document.querySelector(`input[value=${info.mode}]`).checked = true;
      $('url').value = info.remote_url || info.saved_remote_url || '';
      if (info.from_env) $('note').textContent = T.env;
      $('choose').classList.add('shown');
    }
  } else {
    $('error').textContent = '';
    $('status').textContent = s.state === 'ready' ? T.ready : info.mode === 'remote' ? T.connecting : T.starting;
  }
}

// A TLS hub met for the first time: its CA's fingerprint, until trusted or cancelled.
let pending = null;
async function choose(caSha256) {
  const mode = document.querySelector('input[name=mode]:checked').value;
  $('error').textContent = '';
  $('pin').hidden = true;
  try {
    const r = await invoke('set_mode', { mode, url: mode === 'remote' ? $('url').value : null, caSha256 });
    if (r.confirm) {
      pending = r.confirm;
      $('fingerprint').textContent = r.confirm.fingerprint;
      $('pin').hidden = false;
      return;
    }
    pending = null;
    $('status').textContent = r.restarting ? T.restarting : '';
    if (!r.restarting && fromEnv) $('note').textContent = T.env;
    // The hub chosen is the one in use: back to it.
    else if (!r.restarting && choosing && hubUrl) location.href = `${hubUrl}/`;
  } catch (e) {
    $('error').textContent = String(e);
  }
}
// Hubs that advertise themselves on the LAN (mDNS): one click connects, as
// the address typed. Names come from the network: text only, never markup.
let listed = '';
async function showHubs() {
  let hubs;
  try { hubs = await invoke('find_hubs'); } catch { $('lan').hidden = true; return; }
  $('lan').hidden = false;
  $('lan-status').textContent = hubs.length ? T.found : T.looking;
  const key = JSON.stringify(hubs);
  if (key === listed) return;
  listed = key;
  $('hubs').replaceChildren(...hubs.map((hub) => {
    const name = document.createElement('strong');
    name.textContent = hub.name;
    const address = document.createElement('span');
    address.className = 'muted';
    address.textContent = hub.url;
    const button = document.createElement('button');
    button.type = 'button';
    button.append(name, address);
    button.addEventListener('click', () => {
      document.querySelector('input[value=remote]').checked = true;
      $('url').value = hub.url;
      choose(null);
    });
    const item = document.createElement('li');
    item.append(button);
    return item;
  }));
}

$('choose').addEventListener('submit', (ev) => {
  ev.preventDefault();
  choose(null);
});
$('trust').addEventListener('click', () => { if (pending) choose(pending.ca_sha256); });
$('untrust').addEventListener('click', () => { pending = null; $('pin').hidden = true; });
$('url').addEventListener('input', () => { pending = null; $('pin').hidden = true; });
$('scan').addEventListener('click', () => $('qr').click());
$('qr').addEventListener('change', async () => {
  const file = $('qr').files[0];
  if (!file) return;
  try {
    $('url').value = await invoke('decode_qr', new Uint8Array(await file.arrayBuffer()));
    document.querySelector('input[value=remote]').checked = true;
  } catch (e) {
    $('error').textContent = String(e);
  }
});
poll();
setInterval(poll, 700);
