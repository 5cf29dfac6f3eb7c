/**
 * The web dashboard in a real browser (headless Chromium, driven by playwright-core) against the local
 * platform, as an experiment tracker: the page loads without a key and asks for one, takes it from a `#key=`
 * link, says so when there are no runs, no such run or no API; shows the runs as a table (filtered, sorted,
 * paged, the state in the link), compares two runs, shows a run (steps, hyperparameters, lineage, a search's
 * trials, cost), a model and one version; makes the registry's changes (dashboard-actions.ts); and shows drift
 * per feature with the alarms — every chart drawn by Chart.js under the page's strict CSP. Screenshots go to
 * test-results/dashboard/; `npm run docs:screenshot` also saves them into docs/.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunRecord, TrialList } from '../../core/api-types.ts';
import { ENV } from '../../core/contract.ts';
import { MIN_DRIFT_SAMPLES } from '../../core/drift.ts';
import { irisExample, localPlatformFixture } from '../helpers.ts';
import { actionTests } from './dashboard-actions.ts';
import { browserFixture, ink, OUT_DIR } from './dashboard-browser.ts';

process.env[ENV.aliasCacheMs] = '0';

const MODEL = 'iris';
const { lines: LINES, rows: ROWS } = irisExample();
/** Petals measured 2.5 cm too long: traffic that has drifted from the training data. */
const SHIFTED = ROWS.map((r) => ({ ...r, petal_length: (r.petal_length as number) + 2.5 }));
/** The first run trains 40 epochs; the second searches 3 trials of 15 to 30 epochs and other learning rates. */
const FIRST = { hyperparameters: { epochs: 40 } };
const SEARCH = {
  strategy: 'random',
  trials: 3,
  parallel: 3,
  space: { learningRate: { logUniform: [0.005, 0.05] }, epochs: { int: [15, 30] } },
};

describe('web dashboard', () => {
  const local = localPlatformFixture({ captureRate: 1, captureFlushMs: 0 });
  const browser = browserFixture();
  const runs: { first?: RunRecord; search?: RunRecord } = {};

  it('serves the page without a key, with a strict CSP, and asks for the key', async () => {
    const { page } = browser;
    const base = local.platform.endpoints.api;
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
    await browser.shot('key');
  });

  it('says when there are no runs yet, no such run, and no API to answer', async () => {
    const { page } = browser;
    const { dashboard, apiKey } = local.platform.endpoints;
    await page.goto(`${dashboard}#key=${encodeURIComponent(apiKey)}`);
    await page.getByText('No runs yet').waitFor();
    assert.doesNotMatch(page.url(), /key=/, 'the key leaves the address bar');
    const asked = browser.problems.length;
    await page.goto(`${dashboard}#/runs/no-such-run`);
    await page.locator('h2', { hasText: 'Run not found' }).waitFor();
    await page.goto(`${dashboard}#/models/${MODEL}/versions/1`);
    await page.locator('h2', { hasText: 'Version not found' }).waitFor();
    // The API's 404s for what is not there, which the browser logs.
    assert.deepEqual(
      browser.problems.splice(asked).filter((p) => !/status of 404/.test(p)),
      [],
    );

    // The API cut off (the page itself stays loaded): the view says so, and comes back when asked to.
    await page.goto(`${dashboard}#/runs`);
    await page.getByText('No runs yet').waitFor();
    await page.route('**/v1/**', (route) => route.abort('connectionrefused'));
    const before = browser.problems.length;
    await page.reload();
    await page.locator('h2', { hasText: 'The API is unreachable' }).waitFor();
    await page.unroute('**/v1/**');
    browser.problems.splice(before); // the failed requests, on purpose
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByText('No runs yet').waitFor();
  });

  it('shows the runs as a table: a column per hyperparameter and metric, sorted and filtered', async () => {
    const { client } = local;
    const { page } = browser;
    await client.upload(`datasets/${MODEL}/dataset.json`, JSON.stringify(FIRST));
    await client.upload(`datasets/${MODEL}/iris.csv`, `${LINES.join('\n')}\n`);
    const [first] = await client.waitForRuns(MODEL, 1);
    assert.equal(first?.status, 'SUCCEEDED', first?.reason);
    // A second version (the same rows in another order), trained by a search: other hyperparameters.
    await client.upload(`datasets/${MODEL}/dataset.json`, JSON.stringify({ search: SEARCH }));
    await client.upload(
      `datasets/${MODEL}/iris-reordered.csv`,
      `${[LINES[0], ...LINES.slice(1).reverse()].join('\n')}\n`,
    );
    const done = await client.waitForRuns(MODEL, 2);
    assert.ok(
      done.every((r) => r.status === 'SUCCEEDED'),
      JSON.stringify(done.map((r) => r.reason)),
    );
    runs.first = first;
    runs.search = done.find((r) => r.runId !== first?.runId);
    assert.equal(runs.search?.search?.trials, 3);
    // The run records its hyperparameters: the search's best trial's.
    const searched = await client.registryJson<RunRecord>(`/runs/${runs.search?.runId}`);
    assert.equal(searched.hyperparameters?.epochs, (await bestTrial(searched)).parameters.epochs);

    // The table refreshes by itself (it showed the runs as they trained); read it anew, as they are now.
    await page.getByText('No runs yet').waitFor({ state: 'detached' });
    await page.reload();
    const rows = page.locator('table.runs-table tbody tr[data-run]');
    await rows.nth(1).waitFor();
    const headers = await page
      .locator('table.runs-table th[data-column]')
      .evaluateAll((ths) =>
        ths.map((th) => (th as unknown as { dataset: { column: string } }).dataset.column),
      );
    for (const column of ['dataset', 'status', 'started', 'duration', 'param:epochs', 'param:learningRate']) {
      assert.ok(headers.includes(column), `${column} in ${headers.join(', ')}`);
    }
    assert.ok(headers.includes('metric:accuracy') && headers.includes('metric:macroF1'), headers.join(', '));
    assert.equal(await rowIds(), [runs.search?.runId, first?.runId].join(','), 'newest first');

    // Sorting by epochs: 15–30 (the search) before 40, then the other way.
    const epochs = page.locator('th[data-column="param:epochs"]');
    await epochs.locator('button').click();
    assert.equal(await epochs.getAttribute('aria-sort'), 'ascending');
    assert.equal(await rowIds(), [runs.search?.runId, first?.runId].join(','));
    assert.match(page.url(), /#\/runs\?sort=param%3Aepochs&dir=asc$/);
    await epochs.locator('button').click();
    assert.equal(await epochs.getAttribute('aria-sort'), 'descending');
    assert.equal(await rowIds(), [first?.runId, runs.search?.runId].join(','));
    const cell = await page
      .locator(`tr[data-run="${first?.runId}"] td`)
      .nth(headers.indexOf('param:epochs') + 2)
      .textContent();
    assert.equal(cell, '40');

    // Filtering: by text, then by status.
    await page.locator('#runs-filter').fill('no-such-dataset');
    await page.getByText('No run matches').waitFor();
    assert.equal(await page.locator('#runs-range').textContent(), '0 runs');
    await page.locator('#runs-filter').fill(MODEL);
    await rows.nth(1).waitFor();
    await page.locator('#runs-status').selectOption('FAILED');
    await page.getByText('No run matches').waitFor();
    await page.locator('#runs-status').selectOption('SUCCEEDED');
    await rows.nth(1).waitFor();
    assert.equal(await page.locator('#runs-range').textContent(), '1–2 of 2');
    assert.match(page.url(), /q=iris/);
    assert.match(page.url(), /status=SUCCEEDED/);
    // The link reproduces the view.
    await page.reload();
    await rows.nth(1).waitFor();
    assert.equal(await page.locator('#runs-filter').inputValue(), MODEL);
    assert.equal(
      await page.locator('th[data-column="param:epochs"]').getAttribute('aria-sort'),
      'descending',
    );
    await browser.shot('runs', 'dashboard-runs');

    async function rowIds(): Promise<string> {
      const ids = await rows.evaluateAll((trs) =>
        trs.map((tr) => (tr as unknown as { dataset: { run: string } }).dataset.run),
      );
      return ids.join(',');
    }
  });

  it('compares two runs: the differing parameters marked, the best metrics marked, the losses overlaid', async () => {
    const { page } = browser;
    const { first, search } = runs;
    assert.ok(first && search);
    const compare = page.locator('#compare');
    assert.equal(await compare.isDisabled(), true, 'two runs or more');
    await page.locator(`input[data-select][value="${first.runId}"]`).check();
    assert.equal(await compare.isDisabled(), true);
    await page.locator(`input[data-select][value="${search.runId}"]`).check();
    await compare.click();
    await page.locator('h2', { hasText: 'Compare 2 runs' }).waitFor();
    assert.match(page.url(), /#\/compare\?runs=/);
    assert.equal(await page.locator('tr[data-param="epochs"]').getAttribute('data-differs'), 'true');
    assert.equal(await page.locator('tr[data-param="batchSize"]').getAttribute('data-differs'), null);
    const best = page.locator('tr[data-metric="macroF1"] td[data-best]');
    assert.ok((await best.count()) >= 1, 'the best macro-F1 marked');
    await browser.chart('compare-loss');
    await browser.shot('compare', 'dashboard-compare');
  });

  it("shows a search run: its steps with their times, hyperparameters, lineage, trials, and each job's cost", async () => {
    const { page } = browser;
    const { search } = runs;
    assert.ok(search);
    await page.locator(`.compare-runs a[data-run="${search.runId}"]`).click();
    await page.locator(`.run-header[data-run="${search.runId}"]`).waitFor();
    assert.match(page.url(), new RegExp(`#/runs/${search.runId}$`));
    const steps = await page
      .locator('.steps-table tbody tr')
      .evaluateAll((trs) => trs.map((tr) => (tr as unknown as { dataset: { step: string } }).dataset.step));
    assert.deepEqual(steps.slice(0, 3), ['RegisterDataset', 'Preprocess', 'Search']);
    assert.match(
      (await page.locator('.steps-table tbody tr td:last-child').first().textContent()) ?? '',
      /\d+(\.\d)? s|min/,
    );
    const best = await bestTrial(search);
    const params = page.locator('table[aria-label="hyperparameters"]');
    assert.equal(
      await params.locator('tr', { hasText: 'epochs' }).locator('td').textContent(),
      String(best.parameters.epochs),
    );
    assert.equal(await page.locator('#trials tr[data-trial]').count(), 3);
    assert.equal(await page.locator(`#trials tr[data-trial="${best.trial}"]`).getAttribute('class'), 'best');
    await browser.chart('trials-epochs');
    await browser.chart('trials-learningRate');
    await browser.chart('learning-loss');
    assert.equal(await page.locator('#learning-curve figcaption').first().textContent(), 'Loss (log scale)');
    const lineage = (await page.locator('.lineage').textContent()) ?? '';
    assert.match(lineage, /code version/);
    assert.match(lineage, /parent version\s*none/);
    assert.match(lineage, /valid\s*150 rows · 4 features · label species \(classification\)/);
    // Each trial's training job, priced from the emulated Batch API's account of it.
    const { cost } = await local.client.registryJson<RunRecord>(`/runs/${search.runId}`);
    assert.equal(cost?.jobs.length, 3);
    const jobs = page.locator('table[aria-label="training jobs"] tbody tr');
    assert.equal(await jobs.count(), 3);
    for (const row of await jobs.all()) {
      assert.match((await row.textContent()) ?? '', /^\d\s*batch\s*g4dn\.xlarge\s*SUCCEEDED\s*\d+\s*\$\d/);
    }
    await page.getByText(`prices as of ${cost.pricesAsOf}`).waitFor();
    await browser.shot('run', 'dashboard-run');
  });

  it('shows a model: a metric across versions, the confusion matrix and the audit history; and one version', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'Models' }).click();
    await page.locator('a.model-link', { hasText: MODEL }).click();
    await browser.chart('metric-by-version');
    await browser.chart('confusion-matrix');
    const production = /production → v(\d)/.exec(
      (await page.locator('.chip').first().textContent()) ?? '',
    )?.[1];
    assert.ok(production, 'the production alias is shown');
    assert.equal(
      await page.locator('#confusion-matrix h2').textContent(),
      `Confusion matrix · v${production}`,
    );
    const classes = await page
      .locator('#confusion-matrix table.per-class tbody tr td:first-child')
      .allTextContents();
    assert.ok(classes.length >= 2, classes.join(', '));
    assert.match((await page.locator('#confusion-matrix').textContent()) ?? '', /ROC AUC \d/);
    const audit = await page.locator('.timeline-item strong').allTextContents();
    assert.ok(audit.includes('v1 registered') && audit.includes('v2 registered'), audit.join(', '));
    assert.ok(audit.includes('production → v1'), audit.join(', '));
    await browser.shot('models', 'dashboard');

    // Another version selected: its confusion matrix; then its own page.
    const other = production === '1' ? 2 : 1;
    await page.locator(`.version-row[data-version="${other}"]`).click();
    await page.locator('#confusion-matrix h2', { hasText: `v${other}` }).waitFor();
    await browser.chart('confusion-matrix');
    assert.match(page.url(), new RegExp(`#/models/${MODEL}\\?version=${other}$`));
    await page.getByRole('link', { name: `Open v${other}` }).click();
    await page.locator(`.version-header[data-version="${other}"]`).waitFor();
    assert.match(page.url(), new RegExp(`#/models/${MODEL}/versions/${other}$`));
    await browser.chart('confusion-matrix');
    assert.ok((await page.locator('.stat[data-metric="accuracy"]').count()) === 1);
    const entries = await page.locator('.timeline-item strong').allTextContents();
    assert.ok(entries.includes(`v${other} registered`), entries.join(', '));
    assert.ok(!entries.includes(`v${production} registered`), 'only the entries of this version');
    await browser.shot('version', 'dashboard-version');
  });

  actionTests({ local, browser, model: MODEL, lines: LINES, runs });

  it('shows drift per feature, each in its own colour, against the alarm threshold, and the alarms', async () => {
    const { client, platform } = local;
    const { page } = browser;
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
    const canvas = await browser.chart('drift');
    // Four features, the predictions and the threshold, each a colour of its own (and the grid, the text).
    assert.ok((await ink(canvas)).colours >= 6);
    const subtitle = await page.locator(`.card[data-model="${MODEL}"] .card-header p`).textContent();
    assert.match(subtitle ?? '', /PSI per feature and window \(above 0\.\d+: drifted\)/);
    assert.ok((await page.locator('.alarm').count()) > 0, 'alarm states');
    assert.ok(
      (await page.locator('.alarm .badge').allTextContents()).every((t) => /^(OK|ALARM|NO DATA)$/.test(t)),
    );
    await browser.shot('drift', 'dashboard-drift');
    // The refused requests: the wrong keys typed on purpose (403s).
    assert.deepEqual(
      browser.problems.filter((p) => !/status of 403/.test(p)),
      [],
      'no script errors or CSP violations',
    );
    console.log(`# dashboard screenshots in ${OUT_DIR}`);
  });

  async function bestTrial(run: RunRecord) {
    const { trials } = await local.client.registryJson<TrialList>(`/runs/${run.runId}/trials`);
    const best = trials.find((t) => t.trial === run.search?.bestTrial);
    assert.ok(best, `trial ${run.search?.bestTrial} of ${JSON.stringify(trials)}`);
    return best;
  }
});
