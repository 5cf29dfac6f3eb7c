/**
 * The web dashboard in a real browser (headless Chromium, driven by playwright-core) against the local
 * platform: the page loads without a key and asks for one, takes it from a `#key=` link, shows the runs with
 * their steps and a learning curve, a model's versions, confusion matrix and audit history, and drift per
 * feature with the alarms — every chart drawn by Chart.js under the page's strict CSP. Screenshots go to
 * test-results/dashboard/; `npm run docs:screenshot` also saves the model view as docs/dashboard.png.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { ENV } from '../../core/contract.ts';
import { MIN_DRIFT_SAMPLES } from '../../core/drift.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { irisExample, localPlatformFixture } from '../helpers.ts';

process.env[ENV.aliasCacheMs] = '0';

/** The system's Chromium (CI installs it with apt-get); playwright downloads no browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MODEL = 'iris';
/** Where the screenshots go (ignored by git); the README's picture only when asked for. */
const OUT_DIR = join(REPO_ROOT, 'test-results', 'dashboard');
const DOCS_SCREENSHOT =
  process.env.NIMBUS_UPDATE_SCREENSHOTS === '1' ? join(REPO_ROOT, 'docs', 'dashboard.png') : undefined;
const { lines: LINES, rows: ROWS } = irisExample();
/** Petals measured 2.5 cm too long: traffic that has drifted from the training data. */
const SHIFTED = ROWS.map((r) => ({ ...r, petal_length: (r.petal_length as number) + 2.5 }));

/** What the page's canvas looks like to a script in the page (the test's types have no DOM). */
interface CanvasLike {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
  };
}

/** How much of a canvas is drawn on, and in how many colours: a blank canvas is 0 and 0 or 1. */
function ink(canvas: Locator): Promise<{ share: number; colours: number }> {
  return canvas.evaluate((element) => {
    const c = element as unknown as CanvasLike;
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let drawn = 0;
    const colours = new Set<number>();
    for (let i = 0; i < data.length; i += 4) {
      if ((data[i + 3] as number) === 0) continue;
      drawn++;
      colours.add(
        (((data[i] as number) >> 4) << 8) |
          (((data[i + 1] as number) >> 4) << 4) |
          ((data[i + 2] as number) >> 4),
      );
    }
    return { share: drawn / (data.length / 4), colours: colours.size };
  });
}

describe('web dashboard', () => {
  const local = localPlatformFixture({ captureRate: 1, captureFlushMs: 0 });
  const outDir = OUT_DIR;
  let browser: BrowserContext;
  let page: Page;
  /** What the browser reported: script errors, CSP violations, failed requests. */
  const problems: string[] = [];

  before(async () => {
    mkdirSync(outDir, { recursive: true });
    assert.ok(
      existsSync(CHROMIUM),
      `no Chromium at ${CHROMIUM}: install it (sudo apt-get install chromium) or set CHROMIUM_PATH`,
    );
    browser = await chromium.launchPersistentContext(join(outDir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1360, height: 900 },
      deviceScaleFactor: 2,
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    rmSync(join(outDir, 'profile'), { recursive: true, force: true }); // the screenshots stay
  });

  const waitForChart = async (name: string) => {
    const canvas = page.locator(`canvas[data-chart="${name}"][data-chart-ready]`).first();
    await canvas.waitFor({ timeout: 300_000 });
    const drawn = await ink(canvas);
    assert.ok(drawn.share > 0.01 && drawn.colours >= 3, `${name} chart drawn: ${JSON.stringify(drawn)}`);
    return canvas;
  };

  it('serves the page without a key, with a strict CSP, and asks for the key', async () => {
    const { client, platform } = local;
    // A model to look at: iris, trained as a user would, by an upload.
    await client.upload(`datasets/${MODEL}/iris.csv`, `${LINES.join('\n')}\n`);

    const base = platform.endpoints.api;
    const redirect = await fetch(`${base}/dashboard`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), 'dashboard/');
    const index = await fetch(`${base}/dashboard/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(index.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    const script = /src="(app\.js\?v=[\w-]+)"/.exec(await index.text())?.[1];
    assert.ok(script, 'index.html names the bundle with its hash');
    const app = await fetch(`${base}/dashboard/${script}`);
    assert.equal(app.status, 200);
    assert.match(app.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(app.headers.get('cache-control') ?? '', /immutable/);
    assert.equal((await fetch(`${base}/dashboard/nope.js`)).status, 404);
    assert.equal(
      (await fetch(`${base}/dashboard/`, { method: 'POST' })).status,
      405,
      'GET only, as deployed',
    );

    await page.goto(`${base}/dashboard`);
    assert.equal(new URL(page.url()).pathname, '/dashboard/');
    await page.locator('#api-key').waitFor();
    await page.locator('#api-key').fill('not-the-key');
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    await page.getByText('The API refused this key').waitFor();
    await page.screenshot({ path: join(outDir, 'key.png') });
  });

  it('takes the key from a #key= link and shows the runs, their steps and a learning curve', async () => {
    const { client, platform } = local;
    const [first] = await client.waitForRuns(MODEL, 1);
    assert.equal(first?.status, 'SUCCEEDED', first?.reason);
    // A second version (the same rows in another order): two bars to compare, and a gate decision.
    await client.upload(
      `datasets/${MODEL}/iris-reordered.csv`,
      `${[LINES[0], ...LINES.slice(1).reverse()].join('\n')}\n`,
    );
    const runs = await client.waitForRuns(MODEL, 2);
    assert.ok(
      runs.every((r) => r.status === 'SUCCEEDED'),
      JSON.stringify(runs.map((r) => r.reason)),
    );

    const { dashboard, apiKey } = platform.endpoints;
    assert.ok(dashboard);
    await page.goto(`${dashboard}#key=${encodeURIComponent(apiKey)}`);
    await page.locator('.run-row').nth(1).waitFor();
    assert.doesNotMatch(page.url(), /key=/, 'the key leaves the address bar');

    const row = page.locator(`.run-row[data-run="${first?.runId}"]`);
    const states = await row
      .locator('.step')
      .evaluateAll((steps) =>
        steps.map((s) => (s as unknown as { dataset: { state: string } }).dataset.state),
      );
    // Register dataset … Deploy done; no approval was needed.
    assert.deepEqual(states, ['done', 'done', 'done', 'done', 'done', 'done', 'skipped', 'done']);
    await row.locator('a.run-link').click();
    assert.match(page.url(), new RegExp(`#/runs/${first?.runId}$`));
    await page
      .locator('#learning-curve .card-header p', { hasText: `iris · run ${first?.runId.slice(0, 8)}` })
      .waitFor();
    await waitForChart('learning-loss');
    await waitForChart('learning-accuracy');
    await page.screenshot({ path: join(outDir, 'runs.png'), fullPage: true });
  });

  it('shows a model: a metric across versions, the confusion matrix and the audit history', async () => {
    await page.getByRole('link', { name: 'Models' }).click();
    await page.locator('a.model-link', { hasText: MODEL }).click();
    await waitForChart('metric-by-version');
    await waitForChart('confusion-matrix');
    const production = /production → v(\d)/.exec(
      (await page.locator('.chip').first().textContent()) ?? '',
    )?.[1];
    assert.ok(production, 'the production alias is shown');
    assert.equal(
      await page.locator('#confusion-matrix h2').textContent(),
      `Confusion matrix · v${production}`,
    );
    // Each class's precision, recall, F1 and support under it, and the ranking figures in its subtitle.
    const classes = await page
      .locator('#confusion-matrix table.per-class tbody tr td:first-child')
      .allTextContents();
    assert.ok(classes.length >= 2, classes.join(', '));
    assert.match((await page.locator('#confusion-matrix').textContent()) ?? '', /ROC AUC \d/);
    const audit = await page.locator('.timeline-item strong').allTextContents();
    assert.ok(audit.includes('v1 registered') && audit.includes('v2 registered'), audit.join(', '));
    assert.ok(audit.includes('production → v1'), audit.join(', '));

    for (const path of [join(outDir, 'models.png'), ...(DOCS_SCREENSHOT ? [DOCS_SCREENSHOT] : [])]) {
      await page.screenshot({ path, fullPage: true });
    }

    // Another version: its confusion matrix.
    const other = production === '1' ? 2 : 1;
    await page.locator(`.version-row[data-version="${other}"]`).click();
    await page.locator('#confusion-matrix h2', { hasText: `v${other}` }).waitFor();
    await waitForChart('confusion-matrix');
    assert.match(page.url(), new RegExp(`#/models/${MODEL}/versions/${other}$`));
    await waitForChart('metric-by-version');
  });

  it('shows drift per feature against the alarm threshold, and the alarms', async () => {
    const { client, platform } = local;
    // Three monitoring windows (each flower twice, as a window needs MIN_DRIFT_SAMPLES instances): normal
    // traffic, drifted traffic, normal again.
    for (const rows of [ROWS, SHIFTED, ROWS].map((once) => [...once, ...once])) {
      assert.ok(rows.length >= MIN_DRIFT_SAMPLES);
      for (let i = 0; i < rows.length; i += 50) {
        const response = await client.predict(MODEL, { instances: rows.slice(i, i + 50) });
        assert.equal(response.status, 200, await response.text());
      }
      await platform.flushCapture();
      await platform.monitoring.runDriftMonitor();
    }
    await page.getByRole('link', { name: 'Drift' }).click();
    await waitForChart('drift');
    const subtitle = await page.locator(`.card[data-model="${MODEL}"] .card-header p`).textContent();
    assert.match(subtitle ?? '', /PSI per feature and window \(above 0\.\d+: drifted\)/);
    const alarms = await page.locator('.alarm').count();
    assert.ok(alarms > 0, 'alarm states');
    assert.ok(
      (await page.locator('.alarm .badge').allTextContents()).every((t) => /^(OK|ALARM|NO DATA)$/.test(t)),
    );
    await page.screenshot({ path: join(outDir, 'drift.png'), fullPage: true });
    // The one refused request: the wrong key typed in the first test.
    assert.deepEqual(
      problems.filter((p) => !/status of 403/.test(p)),
      [],
      'no script errors or CSP violations',
    );
    console.log(`# dashboard screenshots in ${outDir}${DOCS_SCREENSHOT ? ` and ${DOCS_SCREENSHOT}` : ''}`);
  });
});
