// Add a cradle: scan its QR code with the camera, take or upload a photo of
// it, or type its id. The hub decodes the pictures (/api/qr/decode).

import { api, ApiError } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { go } from '../nav.js';
import { loadCradles, selectCradle } from '../state.js';
import { refreshEvents } from '../events.js';
import { busy, field, messageBox, page } from '../components.js';

const SCAN_EVERY_MS = 700;
/** The hub refuses bodies above 8 MiB; stay well below. */
const MAX_UPLOAD = 7 * 1024 * 1024;

/**
 * Re-encodes a picture as a JPEG no larger than `maxSide` pixels.
 * @param {CanvasImageSource} source @param {number} w @param {number} hgt @param {number} maxSide
 * @returns {Promise<Blob>}
 */
function toJpeg(source, w, hgt, maxSide) {
  const scale = Math.min(1, maxSide / Math.max(w, hgt));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(w * scale));
  canvas.height = Math.max(1, Math.round(hgt * scale));
  const ctx = canvas.getContext('2d');
  if (!ctx) return Promise.reject(new Error('no canvas'));
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('encode failed'))), 'image/jpeg', 0.88),
  );
}

/** @returns {import('../app.js').Screen} */
export function addCradleScreen() {
  const box = messageBox();
  // The message sits above the three ways; on a phone the parent is further
  // down: bring it into view.
  const reveal = () => box.el.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  const result = {
    el: box.el,
    clear: box.clear,
    /** @param {string} text */
    error: (text) => {
      box.error(text);
      reveal();
    },
    /** @param {string} text */
    info: (text) => {
      box.info(text);
      reveal();
    },
  };
  let claiming = false;
  let destroyed = false;

  /** Claims the cradle whose id we now know. @param {string} raw */
  async function claim(raw) {
    const uuid = raw.trim();
    if (!uuid || claiming) return;
    claiming = true;
    result.info(t('add.adding', { id: uuid }));
    try {
      await api.registerCradle(uuid);
      await loadCradles();
      refreshEvents();
      await selectCradle(uuid);
      if (!destroyed) go('#/live');
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) result.error(t('add.unknown', { id: uuid }));
      else if (e instanceof ApiError && e.status === 409) result.error(t('add.taken', { id: uuid }));
      else result.error(e instanceof ApiError ? e.message : t('error.unexpected'));
    } finally {
      claiming = false;
    }
  }

  // --- 1. Camera ----------------------------------------------------------
  const video = h('video', { class: 'scan-video', muted: true, playsinline: true, autoplay: true, 'aria-label': t('add.cameraView') });
  const scanStatus = h('p', { class: 'hint', role: 'status', 'aria-live': 'polite' });
  const videoBox = h('div', { class: 'scan-box', hidden: true }, video, h('div', { class: 'scan-frame', 'aria-hidden': 'true' }));
  const startBtn = h('button', { type: 'button', class: 'btn primary block' }, t('add.startCamera'));
  const stopBtn = h('button', { type: 'button', class: 'btn block', hidden: true }, t('add.stopCamera'));
  /** @type {MediaStream | null} */
  let stream = null;
  let scanTimer = 0;
  let scanInFlight = false;

  function stopCamera() {
    window.clearInterval(scanTimer);
    scanTimer = 0;
    stream?.getTracks().forEach((tr) => tr.stop());
    stream = null;
    video.srcObject = null;
    videoBox.hidden = true;
    stopBtn.hidden = true;
    startBtn.hidden = false;
  }

  async function scanOnce() {
    if (scanInFlight || claiming || !stream || video.readyState < 2 || !video.videoWidth) return;
    scanInFlight = true;
    try {
      const jpeg = await toJpeg(video, video.videoWidth, video.videoHeight, 1280);
      const { text } = await api.decodeQr(jpeg);
      if (destroyed) return;
      stopCamera();
      scanStatus.textContent = t('add.found', { id: text });
      await claim(text);
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) scanStatus.textContent = t('add.looking');
      else if (e instanceof ApiError && e.status === 503) scanStatus.textContent = t('add.looking');
      else if (e instanceof ApiError) {
        stopCamera();
        result.error(e.message);
      }
    } finally {
      scanInFlight = false;
    }
  }

  const cameraAvailable = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  startBtn.addEventListener('click', async () => {
    result.clear();
    if (!cameraAvailable) {
      result.error(window.isSecureContext ? t('add.noCamera') : t('add.cameraNeedsSecure'));
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: false,
      });
    } catch (e) {
      const denied = e instanceof DOMException && (e.name === 'NotAllowedError' || e.name === 'SecurityError');
      result.error(denied ? t('add.cameraDenied') : t('add.noCamera'));
      return;
    }
    if (destroyed) {
      stream.getTracks().forEach((tr) => tr.stop());
      return;
    }
    video.srcObject = stream;
    videoBox.hidden = false;
    startBtn.hidden = true;
    stopBtn.hidden = false;
    scanStatus.textContent = t('add.looking');
    scanTimer = window.setInterval(scanOnce, SCAN_EVERY_MS);
  });
  stopBtn.addEventListener('click', () => {
    stopCamera();
    scanStatus.textContent = '';
  });

  const cameraCard = h(
    'section',
    { class: 'card method', 'aria-labelledby': 'add-cam-h' },
    h('h2', { id: 'add-cam-h' }, h('span', { class: 'num', 'aria-hidden': 'true' }, '1'), t('add.cameraTitle')),
    h('p', { class: 'muted' }, cameraAvailable ? t('add.cameraBody') : t('add.cameraNeedsSecure')),
    videoBox,
    scanStatus,
    startBtn,
    stopBtn,
  );

  // --- 2. Photo -------------------------------------------------------------
  const fileInput = h('input', {
    type: 'file',
    accept: 'image/*',
    capture: 'environment',
    class: 'visually-hidden',
    id: 'qr-photo',
    'data-testid': 'qr-photo',
  });
  const preview = h('img', { class: 'photo-preview', alt: '', hidden: true });
  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0];
    fileInput.value = '';
    if (!file) return;
    result.info(t('add.reading'));
    const url = URL.createObjectURL(file);
    preview.src = url;
    preview.hidden = false;
    preview.alt = t('add.photoAlt');
    try {
      /** @type {Blob} */
      let body = file;
      const plain = /^image\/(jpeg|png)$/.test(file.type) && file.size <= MAX_UPLOAD;
      if (!plain) {
        const bitmap = await createImageBitmap(file);
        body = await toJpeg(bitmap, bitmap.width, bitmap.height, 2048);
      }
      const { text } = await api.decodeQr(body);
      if (destroyed) return;
      result.info(t('add.found', { id: text }));
      await claim(text);
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) result.error(t('add.noQr'));
      else if (e instanceof ApiError) result.error(e.message);
      else result.error(t('add.notImage'));
    }
  });
  const photoCard = h(
    'section',
    { class: 'card method', 'aria-labelledby': 'add-photo-h' },
    h('h2', { id: 'add-photo-h' }, h('span', { class: 'num', 'aria-hidden': 'true' }, '2'), t('add.photoTitle')),
    h('p', { class: 'muted' }, t('add.photoBody')),
    preview,
    h('label', { for: 'qr-photo', class: 'btn block file-btn' }, fileInput, t('add.choosePhoto')),
  );

  // --- 3. Typed id ------------------------------------------------------------
  const idInput = h('input', { name: 'cradle_uuid', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: 128 });
  const idField = field({ label: t('add.idLabel'), input: idInput, hint: t('add.idHint') });
  const idBtn = h('button', { type: 'submit', class: 'btn block' }, t('add.addButton'));
  const idForm = h('form', { class: 'card method', 'aria-labelledby': 'add-id-h', novalidate: true },
    h('h2', { id: 'add-id-h' }, h('span', { class: 'num', 'aria-hidden': 'true' }, '3'), t('add.idTitle')),
    idField.el,
    idBtn,
  );
  idForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    idField.setError('');
    if (!idInput.value.trim()) {
      idField.setError(t('add.needId'));
      idInput.focus();
      return;
    }
    busy(idBtn, () => claim(idInput.value));
  });

  const el = page(
    t('add.title'),
    'add-cradle',
    h('p', { class: 'lead' }, t('add.intro')),
    result.el,
    h('div', { class: 'methods' }, cameraCard, photoCard, idForm),
  );
  return {
    el,
    title: t('add.title'),
    destroy: () => {
      destroyed = true;
      stopCamera();
      if (preview.src) URL.revokeObjectURL(preview.src);
    },
  };
}
