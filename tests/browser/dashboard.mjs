// The dashboard as a person sees it: Debian's chromium, driven through the
// DevTools protocol by playwright-core, loads the reporter's page from the
// running stack, waits until the figures are drawn, checks each one against
// /api/kpi, submits a referral and waits (with a deadline) for the page to
// show it, then saves a screenshot. Run by tests/integration/test_dashboard.c:
//
//   TP_URL=http://127.0.0.1:PORT/ TP_SUBMIT='tremplin … referral submit FILE'
//   TP_SCREENSHOT=docs/dashboard.png TP_PROFILE=DIR node tests/browser/dashboard.mjs
//
// Exit 0 when every check held, 1 otherwise (the reason on stderr).
import { chromium } from "playwright-core";
import { execSync } from "node:child_process";

const url = process.env.TP_URL, submit = process.env.TP_SUBMIT;
const shot = process.env.TP_SCREENSHOT || "docs/dashboard.png", profile = process.env.TP_PROFILE;
const deadlineMs = Number(process.env.TP_DEADLINE_MS || 15000);

function fail(msg) {
  console.error("browser: " + msg);
  process.exitCode = 1;
  throw new Error(msg);
}

async function api(path) {
  const r = await fetch(new URL(path, url));
  if (!r.ok) fail(`${path}: ${r.status}`);
  return r.json();
}

// What the page shows, by figure name: data-value of every [data-figure].
async function shown(page) {
  return page.$$eval("[data-figure]", els => Object.fromEntries(els.map(e => [e.dataset.figure, e.dataset.value])));
}

// What /api/kpi says for the same names.
function expected(main) {
  const want = {};
  const str = v => (v === null || v === undefined ? "null" : String(v));
  for (const k of ["people_accompanied", "people_trained", "referrals_accepted", "workshops_held", "fill_rate",
                   "noshow_rate", "waiting", "wait_days_median", "wait_days_p90", "pct_very_satisfied",
                   "pct_wants_more", "pct_went_on"])
    want[k] = str(main.figures[k]);
  for (const s of main.funnel) want["funnel." + s.stage] = str(s.value);
  for (const o of main.outlook) want["waiting." + o.kind] = str(o.waiting);
  for (const r of main.rows) want["fill_rate." + r.key] = str(r.figures.fill_rate);
  if (main.figures.satisfaction)
    for (const n of [1, 2, 3, 4]) want["satisfaction." + n] = str(main.figures.satisfaction[n] || 0);
  return want;
}

const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
  viewport: { width: 1366, height: 900 },
  locale: "fr-FR",
});
try {
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on("pageerror", e => errors.push(String(e)));
  page.on("requestfailed", r => errors.push("request failed: " + r.url()));
  await page.goto(url);
  await page.waitForSelector("body[data-ready]", { timeout: 30000 });

  // the page and the API agree, figure by figure (read at one version)
  let ok = false, diff = [];
  for (let tries = 0; tries < 10 && !ok; tries++) {
    const main = await api("/api/kpi?by=kind");
    await page.waitForFunction(v => Number(document.body.dataset.ready) >= v, main.version, { timeout: 10000 });
    const have = await shown(page), want = expected(main);
    diff = Object.keys(want).filter(k => have[k] !== want[k]).map(k => `${k}: page ${have[k]}, api ${want[k]}`);
    ok = diff.length === 0 && Object.keys(want).length > 20;
    if (!ok) await page.waitForTimeout(500);
  }
  if (!ok) fail("the page differs from /api/kpi: " + diff.join("; "));
  const n = Object.keys(await shown(page)).length;

  // a referral is submitted: the page shows it before the deadline
  const before = Number((await shown(page)).referrals_accepted);
  const t0 = Date.now();
  try {
    execSync(submit, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    fail(`the referral was not accepted: ${e.stdout}${e.stderr}`);
  }
  try {
    await page.waitForFunction(b => Number(document.querySelector('[data-figure="referrals_accepted"]').dataset.value) === b + 1,
                               before, { timeout: deadlineMs, polling: 100 });
  } catch (e) {
    fail(`the new referral did not show within ${deadlineMs} ms (still ${before})`);
  }
  const seen = Date.now() - t0;
  if (errors.length) fail("the page reported errors: " + errors.join("; "));
  await page.waitForTimeout(300);
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`tp browser: ${n} figures equal to /api/kpi; a new referral shown after ${seen} ms; screenshot ${shot}`);
} catch (e) {
  if (!process.exitCode) { console.error("browser: " + e.message); process.exitCode = 1; }
} finally {
  await context.close();
}
