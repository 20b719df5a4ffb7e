// The console's plots in real Chromium (Debian's), driven by playwright-core: opens a sandbox that
// runs a CPU loop, waits until the plotted CPU series shows it, reads the series and the hosts and
// templates tables from the page, and saves a screenshot.
// Usage: node console-metrics.mjs BASE_URL API_KEY SANDBOX_ID SCREENSHOT_PATH
// Prints one JSON line: {cpu: [...], memory: [...], hosts: [...], templates: [...], error}
import { chromium } from 'playwright-core';

const [base, key, sandboxId, screenshot] = process.argv.slice(2);
const executablePath = process.env.WRENN_CHROMIUM ?? '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const result = { cpu: null, memory: null, hosts: null, templates: null, error: null, pageErrors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1500 } });
  page.setDefaultTimeout(120_000);
  // What went wrong in the page, quoted when the test fails.
  page.on('pageerror', (e) => result.pageErrors.push(String(e.message ?? e)));
  page.on('console', (m) => { if (m.type() === 'error') result.pageErrors.push(m.text()); });
  await page.goto(`${base}/ui`);
  await page.fill('#api-key', key);
  await page.click('#save-key');
  await page.click(`tr[data-id="${sandboxId}"] button.open`);
  // The guest series (index 1) of the CPU plot: recent points at 50 % or more once the loop shows.
  await page.waitForFunction(() => {
    const plot = window.wrennPlots?.cpu;
    if (!plot || plot.data[0].length < 2) return false;
    return plot.data[1].slice(-3).some((v) => v >= 50);
  });
  await page.waitForFunction(() => document.querySelectorAll('#hosts tbody tr').length > 0 && document.querySelectorAll('#templates tbody tr').length > 0);
  result.cpu = await page.evaluate(() => window.wrennPlots.cpu.data.map((c) => Array.from(c)));
  result.memory = await page.evaluate(() => window.wrennPlots.memory.data.map((c) => Array.from(c)));
  result.hosts = await page.$$eval('#hosts tbody tr', (rows) => rows.map((r) => Array.from(r.children).map((c) => c.textContent)));
  result.templates = await page.$$eval('#templates tbody tr', (rows) => rows.map((r) => Array.from(r.children).map((c) => c.textContent)));
  await page.screenshot({ path: screenshot, fullPage: true });
} catch (e) {
  result.error = String(e.message ?? e);
  result.plotted = await browser.contexts()[0]?.pages()[0]?.evaluate(() => window.wrennPlots?.cpu?.data?.map((c) => Array.from(c).slice(-5))).catch(() => null);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
