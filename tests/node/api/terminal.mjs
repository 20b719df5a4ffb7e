// The web console's terminal in real Chromium (Debian's), driven by playwright-core: a shell on a PTY
// in a running sandbox, typed into, resized with the window, and attached again after a reload.
// Usage: node terminal.mjs BASE_URL API_KEY SANDBOX_ID
// Prints one JSON line: {pid, answered, sizeAfterResize, stty, replayed, answeredAgain, samePid, exited, error}
import { chromium } from 'playwright-core';

const [base, key, sandbox] = process.argv.slice(2);
const executablePath = process.env.WRENN_CHROMIUM ?? '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const result = { pid: null, answered: false, sizeAfterResize: null, stty: null, replayed: false, answeredAgain: false, samePid: false, exited: false, error: null };

// The terminal's screen as text, one string per row (xterm.js's DOM renderer; no-break spaces as spaces).
const rows = (page) => page.evaluate(() =>
  [...document.querySelectorAll('#terminal .xterm-rows > div')].map((r) => r.textContent.replaceAll('\u00a0', ' ').trimEnd()));
// Waits for a row that is exactly `text` (or, with prefix, starts with it).
const waitForRow = (page, text, prefix = false) =>
  page.waitForFunction(([want, startsWith]) =>
    [...document.querySelectorAll('#terminal .xterm-rows > div')]
      .map((r) => r.textContent.replaceAll('\u00a0', ' ').trimEnd())
      .some((row) => (startsWith ? row.startsWith(want) : row === want)), [text, prefix]);

async function type(page, text) {
  await page.click('#terminal');
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(120_000);
  await page.goto(`${base}/ui`);
  await page.fill('#api-key', key);
  await page.click('#save-key');
  await page.click(`tr[data-id="${sandbox}"] button.open`);
  await page.click('#terminal-open');
  await page.waitForSelector('#terminal[data-size]');
  result.pid = Number(await page.getAttribute('#terminal', 'data-pid'));

  await type(page, 'echo $((6*7))');
  await waitForRow(page, '42');
  result.answered = true;

  // A smaller window: the terminal is fitted to it and the shell's terminal resized to match.
  const before = await page.getAttribute('#terminal', 'data-size');
  await page.setViewportSize({ width: 700, height: 900 });
  await page.waitForFunction((old) => document.querySelector('#terminal').dataset.size !== old, before);
  result.sizeAfterResize = await page.getAttribute('#terminal', 'data-size');
  await type(page, 'echo size=$(stty size)');
  const [cols, lines] = result.sizeAfterResize.split('x');
  await waitForRow(page, `size=${lines} ${cols}`);
  result.stty = `${lines} ${cols}`;

  // A reload attaches to the same shell: its earlier output comes back first, and it still takes input.
  await page.reload();
  await page.waitForSelector('#terminal[data-size]');
  result.samePid = Number(await page.getAttribute('#terminal', 'data-pid')) === result.pid;
  await waitForRow(page, '42');
  result.replayed = true;
  await type(page, 'echo again-$((7*6))');
  await waitForRow(page, 'again-42');
  result.answeredAgain = true;

  await type(page, 'exit');
  await waitForRow(page, '[process exited 0]', true);
  result.exited = !(await page.evaluate(() => location.hash.includes('terminal=')));
  process.stderr.write((await rows(page)).filter((r) => r.length).join('\n') + '\n');
} catch (e) {
  result.error = String(e.message ?? e);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
