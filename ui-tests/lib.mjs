// What the browser tests share: where things are, assertions and waiting,
// and the page-side reporter of Content-Security-Policy violations.

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = process.env.CRADLE_HUB_BIN || join(ROOT, 'target/debug/cradle-hub');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const OUT = join(ROOT, 'ui-test-output');

/** @param {unknown} cond @param {string} msg */
export function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

/** Waits until `fn()` returns a truthy value. @template T @param {string} what @param {() => T} fn @param {number} ms @returns {Promise<NonNullable<T>>} */
export async function until(what, fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return /** @type {NonNullable<T>} */ (v);
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An init script: the page logs each CSP violation it sees, before its own scripts run. */
export const CSP_REPORTER = () => {
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile || '?'}:${e.lineNumber}`);
  });
};
