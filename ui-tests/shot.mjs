// Dev helper: screenshots of a running hub's UI (not part of the test run).
// node shot.mjs URL OUTDIR [user pass]
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, out = '/tmp/shots', user = 'demo', pass = 'demo'] = process.argv.slice(2);
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'ui-shot-')), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: Number(process.env.W ?? 390), height: Number(process.env.H ?? 844) },
  colorScheme: process.env.DARK ? 'dark' : 'light',
});
const page = ctx.pages()[0] ?? (await ctx.newPage());
page.on('console', (m) => console.log('console:', m.type(), m.text()));
page.on('pageerror', (e) => console.log('pageerror:', e.message));
await page.goto(url);
await page.waitForTimeout(800);
await page.screenshot({ path: `${out}/login.png` });
await page.fill('input[name=username]', user);
await page.fill('input[name=password]', pass);
await page.click('button[type=submit]');
await page.waitForTimeout(2500);
for (const r of (process.env.ROUTES ?? 'live,alerts,history,settings,add').split(',')) {
  await page.goto(`${url}/#/${r}`);
  await page.waitForTimeout(2500);
  await page.screenshot({ path: `${out}/${r.replace(/\W/g, '_')}.png`, fullPage: true });
}
await ctx.close();
