// A marketer's walk through the pages in a real browser (Debian's Chromium, driven by
// playwright-core): log in, filter, open a message, download the CSV, look at the overview (its
// charts, what each kind earned), log out.
// Usage: node admin-walkthrough.mjs BASE_URL USER PASSWORD OUT_DIR
// Exits non-zero, saying what it missed, when a step fails. Screenshots go to OUT_DIR.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [base, user, password, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node admin-walkthrough.mjs BASE_URL USER PASSWORD OUT_DIR');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

function check(condition, what) {
  if (!condition) {
    throw new Error(`expected: ${what}`);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  // No sandbox (root in CI), and none of Chromium's own network traffic: the machine is closed.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  // A phone-sized window: the pages must work there.
  const context = await browser.newContext({
    acceptDownloads: true,
    locale: 'nl-NL',
    viewport: { width: 414, height: 896 },
  });
  const page = await context.newPage();
  // Generous: in the whole suite one moto serves every test one request at a time, and a login
  // waits behind other tests' large transactions (throttles and the session generation are
  // read and written on the way in).
  page.setDefaultTimeout(60000);

  // Not logged in: the login form, nothing else.
  const first = await page.goto(`${base}/admin/messages`);
  check(first.status() === 401, `401 before logging in, got ${first.status()}`);
  check(await page.locator('#password').isVisible(), 'a password field');
  check(!(await page.content()).includes('@example.nl'), 'no data before logging in');

  await page.fill('#username', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL('**/admin/messages**'), page.click('button[type=submit]')]);
  check((await page.locator('h1').innerText()).includes('Berichten'), 'the message list in Dutch');

  // Filter: one kind over the last days.
  await page.selectOption('#kind', 'loyalty-earned');
  await Promise.all([page.waitForURL('**kind=loyalty-earned**'), page.click('form.filters button[type=submit]')]);
  const rows = page.locator('tbody tr');
  const count = await rows.count();
  check(count >= 1, 'at least one loyalty-earned row');
  for (let i = 0; i < count; i++) {
    check((await rows.nth(i).innerText()).includes('punten gespaard'), `row ${i} is loyalty-earned, in words`);
  }
  check((await page.content()).includes('***@example.nl'), 'masked addresses');
  await page.screenshot({ path: join(outDir, 'admin-messages.png'), fullPage: true });

  // The CSV download of the same rows.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('a[href*="format=csv"]'),
  ]);
  const csvPath = join(outDir, 'messages.csv');
  await download.saveAs(csvPath);
  const csv = readFileSync(csvPath, 'utf8');
  check(csv.startsWith('"time","customer_id","email"'), 'the CSV header');
  check(csv.includes('loyalty-earned'), 'the filtered rows in the CSV');

  // A message's detail.
  await Promise.all([page.waitForURL('**/admin/messages/**'), rows.first().locator('a').first().click()]);
  check((await page.content()).includes('Statusgeschiedenis'), 'the status history');
  await page.screenshot({ path: join(outDir, 'admin-message.png'), fullPage: true });

  // The overview, in English.
  await page.goto(`${base}/admin?lang=en`);
  check((await page.locator('h1').innerText()).includes('Overview'), 'the overview in English');
  check((await page.content()).includes('NPS'), 'the NPS');
  await page.screenshot({ path: join(outDir, 'admin-overview.png'), fullPage: true });
  // Each chart is drawn (an SVG with its title) and kept as its own picture.
  for (const id of ['messages', 'nps', 'points', 'attributed']) {
    const chart = page.locator(`#figure-${id}`);
    check(await page.locator(`#chart-${id} rect`).count() > 0, `the ${id} chart is drawn`);
    check((await page.locator(`#chart-${id}-title`).count()) === 1, `the ${id} chart's title`);
    await chart.screenshot({ path: join(outDir, `admin-chart-${id}.png`) });
  }

  // What each kind earned: an order attributed to the loyalty email, with its rates.
  check((await page.content()).includes('Placed-order rate'), 'the placed-order rate column');
  const orders = await page.locator('table.per-kind td.orders').allInnerTexts();
  check(orders.some((n) => Number(n) > 0), `an attributed order per kind, got ${orders}`);
  check((await page.locator('#chart-attributed-table td').allTextContents()).some((n) => Number(n) > 0),
    'the attributed chart has the week of the order');
  // Thirteen columns scroll sideways on a phone: the table's picture is taken on a desktop.
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.locator('table.per-kind').screenshot({ path: join(outDir, 'admin-per-kind.png') });
  await page.setViewportSize({ width: 414, height: 896 });
  check((await page.locator('#funnel-loyalty-earned tr.step-ordered').count()) === 1, 'the funnel\'s ordered step');

  // The language switch is a link: back to Dutch, on the same page.
  await Promise.all([page.waitForURL('**lang=nl**'), page.click('nav.lang-switch a[lang=nl]')]);
  check((await page.locator('h1').innerText()).includes('Overzicht'), 'the overview in Dutch');

  // Log out (the button's form carries its token): the pages are closed again.
  await Promise.all([page.waitForURL('**/admin/login'), page.click('header form button[type=submit]')]);
  const after = await page.goto(`${base}/admin/messages`);
  check(after.status() === 401, `401 after logging out, got ${after.status()}`);
  console.log(`walkthrough done; screenshots in ${outDir}`);
} finally {
  await browser.close();
}
