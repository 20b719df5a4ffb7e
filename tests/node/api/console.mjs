// The web console in real Chromium (Debian's), driven by playwright-core.
// Usage: node console.mjs BASE_URL API_KEY
// Prints one JSON line: {created, output, lifecycle, paused, woken, destroyed, error}
import { chromium } from 'playwright-core';

const [base, key] = process.argv.slice(2);
const executablePath = process.env.WRENN_CHROMIUM ?? '/usr/bin/chromium';
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--headless=new'] });
const result = { created: null, output: null, lifecycle: null, paused: null, woken: null, destroyed: false, error: null };
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

  // Lifecycle: wake on use saved from the sandbox's form, shown in its row; paused, the next command wakes it.
  const row = (id) => `tr[data-id="${id}"]`;
  await page.check('#lifecycle-auto-resume');
  await page.click('#lifecycle-save');
  await page.waitForFunction((sel) => document.querySelector(sel)?.children[5].textContent.includes('wakes on use'), row(result.created));
  result.lifecycle = await page.textContent(`${row(result.created)} td:nth-child(6)`);
  await page.click(`${row(result.created)} button.pause`);
  await page.waitForFunction((sel) => document.querySelector(sel)?.children[1].textContent.startsWith('PAUSED'), row(result.created));
  result.paused = await page.textContent(`${row(result.created)} td:nth-child(2)`);
  await page.fill('#args', 'woken-by-the-console');
  await page.click('#run');
  await page.waitForFunction(() => document.querySelector('#output').textContent.includes('woken-by-the-console') && document.querySelector('#output').textContent.includes('[exit 0]'));
  await page.click('#refresh');
  await page.waitForFunction((sel) => document.querySelector(sel)?.children[1].textContent === 'RUNNING', row(result.created));
  result.woken = await page.textContent('#output');
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
