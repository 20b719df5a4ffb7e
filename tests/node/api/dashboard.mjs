// The Orleans dashboard at /dashboard in real Chromium (Debian's), driven by playwright-core:
// the sign-in form, a member's key refused, an admin's key let in, the silo shown.
// Usage: node dashboard.mjs BASE_URL ADMIN_KEY MEMBER_KEY SILO_NAME SCREENSHOT_PATH
// Prints one JSON line: {signInShown, memberRefused, siloShown, title, error}
import { chromium } from 'playwright-core';

const [base, adminKey, memberKey, siloName, screenshot] = process.argv.slice(2);
const executablePath = process.env.WRENN_CHROMIUM ?? '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const result = { signInShown: false, memberRefused: false, siloShown: false, title: null, error: null };
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(120_000);
  const first = await page.goto(`${base}/dashboard/`);
  result.signInShown = first.status() === 401 && (await page.locator('input[name="key"]').count()) === 1;

  await page.fill('input[name="key"]', memberKey);
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  result.memberRefused = (await page.textContent('#reason'))?.includes('admin keys only') ?? false;

  await page.fill('input[name="key"]', adminKey);
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  // The dashboard is a single-page app: it fetches the cluster's state itself and lists the silos.
  await page.goto(`${base}/dashboard/#/silos`);
  await page.waitForFunction((name) => document.body.innerText.includes(name), siloName);
  result.siloShown = true;
  result.title = await page.title();
  await page.screenshot({ path: screenshot, fullPage: true });
} catch (e) {
  result.error = String(e.message ?? e);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
