// The web console's listening ports in real Chromium (Debian's), driven by playwright-core: the
// sandbox's row is opened, its ports are listed, and one opens in a new tab through a port URL.
// Usage: node console-ports.mjs BASE_URL API_KEY SANDBOX_ID PORT
// Prints one JSON line: {listed, opened, page, error}
import { chromium } from 'playwright-core';

const [base, key, sandboxId, port] = process.argv.slice(2);
const executablePath = process.env.WRENN_CHROMIUM ?? '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const result = { listed: [], opened: null, page: null, error: null };
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(120_000);
  await page.goto(`${base}/ui`);
  await page.fill('#api-key', key);
  await page.click('#save-key');
  await page.click(`tr[data-id="${sandboxId}"] button.open`);
  await page.waitForSelector(`#ports tr[data-port="${port}"]`);
  result.listed = await page.$$eval('#ports tbody tr', (rows) => rows.map((r) => Number(r.dataset.port)));
  const [tab] = await Promise.all([
    page.waitForEvent('popup'),
    page.click(`#ports tr[data-port="${port}"] button.open-port`),
  ]);
  await tab.waitForURL((url) => url.toString().startsWith(`${base}/p/`));
  await tab.waitForLoadState();
  result.opened = tab.url();
  result.page = await tab.textContent('body');
} catch (e) {
  result.error = String(e.message ?? e);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
