// Draws the app icon's source image (1024x1024 RGBA PNG): a cradle under a
// crescent moon. No dependencies: signed distances, anti-aliased by coverage,
// PNG written with node:zlib. `scripts/app-icons.sh` turns it into icons/.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const N = 1024;
const out = process.argv[2] ?? 'icon-source.png';

const len = (x, y) => Math.hypot(x, y);
const circle = (px, py, cx, cy, r) => len(px - cx, py - cy) - r;
const roundRect = (px, py, cx, cy, hw, hh, r) => {
  const qx = Math.abs(px - cx) - hw + r;
  const qy = Math.abs(py - cy) - hh + r;
  return len(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
};
// Good enough for drawing: exact on the axes, close elsewhere.
const ellipse = (px, py, cx, cy, rx, ry) => (len((px - cx) / rx, (py - cy) / ry) - 1) * Math.min(rx, ry);
const cover = (d) => Math.min(1, Math.max(0, 0.5 - d * N)); // d in units of the image width

const hex = (s) => [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));
const mix = (a, b, t) => a.map((v, i) => v + (b[i] - v) * t);

function pixel(x, y) {
  // Layers bottom to top: [coverage, rgb]
  const layers = [];
  const bg = roundRect(x, y, 0.5, 0.5, 0.46, 0.46, 0.2);
  layers.push([cover(bg), mix(hex('#1d2760'), hex('#4a5bb0'), y)]);
  // Stars
  for (const [sx, sy, r] of [[0.24, 0.22, 0.022], [0.34, 0.4, 0.014], [0.84, 0.45, 0.016], [0.2, 0.5, 0.012]]) {
    layers.push([cover(circle(x, y, sx, sy, r)), hex('#fff4c9')]);
  }
  // Crescent moon
  const moon = Math.max(circle(x, y, 0.6, 0.33, 0.19), -circle(x, y, 0.68, 0.27, 0.165));
  layers.push([cover(moon), hex('#ffd45e')]);
  // Cradle: rockers (a thick arc), the basket (lower half-ellipse) and its rim
  const rockerRing = Math.abs(ellipse(x, y, 0.5, 0.68, 0.34, 0.17)) - 0.018;
  const rocker = Math.max(rockerRing, 0.79 - y, Math.abs(x - 0.5) - 0.3);
  layers.push([cover(rocker), hex('#e9e3f5')]);
  const basket = Math.max(ellipse(x, y, 0.5, 0.6, 0.29, 0.2), 0.6 - y);
  layers.push([cover(basket), mix(hex('#f7b2c4'), hex('#e57c9b'), Math.max(0, (y - 0.6) / 0.2))]);
  const rim = roundRect(x, y, 0.5, 0.6, 0.31, 0.025, 0.025);
  layers.push([cover(rim), hex('#ffffff')]);

  let rgb = [0, 0, 0];
  let a = 0;
  for (const [c, col] of layers) {
    if (c <= 0) continue;
    // "over" compositing with straight alpha
    const na = c + a * (1 - c);
    rgb = rgb.map((v, i) => (col[i] * c + v * a * (1 - c)) / na);
    a = na;
  }
  // Everything stays inside the rounded square.
  a = Math.min(a, cover(bg));
  return [...rgb.map((v) => Math.round(v)), Math.round(a * 255)];
}

const raw = Buffer.alloc(N * (N * 4 + 1));
for (let j = 0; j < N; j++) {
  raw[j * (N * 4 + 1)] = 0; // filter: none
  for (let i = 0; i < N; i++) {
    const p = pixel((i + 0.5) / N, (j + 0.5) / N);
    raw.set(p, j * (N * 4 + 1) + 1 + i * 4);
  }
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
};
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(N, 0);
ihdr.writeUInt32BE(N, 4);
ihdr[8] = 8; // bit depth
ihdr[9] = 6; // RGBA
writeFileSync(
  out,
  Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]),
);
console.log(`wrote ${out}`);
