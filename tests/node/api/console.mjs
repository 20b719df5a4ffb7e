// The web console in real Chromium (Debian's), driven by playwright-core.
// Usage: node console.mjs BASE_URL API_KEY
// Prints one JSON line: {created, output, destroyed, error}
import { chromium } from 'playwright-core';

const [base, key] = process.argv.slice(2);
const executablePath = process.env.WRENN_CHROMIUM ?? '/usr/bin/chromium';
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--headless=new'] });
const result = { created: null, output: null, destroyed: false, error: null };
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(180_000);
  await page.goto(`${base}/ui`);
  await page.fill('#api-key', key);
  await page.click('#save-key');
  await page.click('#create');
  await page.waitForSelector('#selected:not([hidden])');
  result.created = await page.textContent('#selected-id');
  await page.fill('#command', 'echo');
  await page.fill('#args', 'hello-from-the-console');
  await page.click('#run');
  await page.waitForFunction(() => document.querySelector('#output').textContent.includes('[exit 0]'));
  result.output = await page.textContent('#output');
  await page.click(`tr[data-id="${result.created}"] button.destroy`);
  await page.waitForFunction((id) => {
    const row = document.querySelector(`tr[data-id="${id}"]`);
    return row && row.children[1].textContent === 'DESTROYED';
  }, result.created);
  result.destroyed = true;
} catch (e) {
  result.error = String(e.message ?? e);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
