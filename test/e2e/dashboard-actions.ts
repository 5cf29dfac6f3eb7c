/**
 * The dashboard's actions, end to end in the browser (tests of dashboard.test.ts, on its platform): approve a
 * version that waits for a person (the reason required, the admin key asked once, a wrong one refused with the
 * IAM message), promote a version, roll the alias back, stop a running run, retry the failed run — each
 * checked through the API — and the runs table paged with the state in its link.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { AliasView, AuditEntry, ModelVersion, RunRecord } from '../../core/api-types.ts';
import type { localPlatformFixture } from '../helpers.ts';
import type { browserFixture } from './dashboard-browser.ts';

interface Context {
  readonly local: ReturnType<typeof localPlatformFixture>;
  readonly browser: ReturnType<typeof browserFixture>;
  readonly model: string;
  readonly lines: readonly string[];
  readonly runs: { first?: RunRecord; search?: RunRecord };
}

/** Polls `read` until it answers something (bounded): waiting for a state the platform reaches. */
async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `${what}: not after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export function actionTests({ local, browser, model, lines }: Context): void {
  const dashboard = () => local.platform.endpoints.dashboard as string;
  const run = async (runId: string) => {
    const response = await local.client.registry(`/runs/${encodeURIComponent(runId)}`);
    return response.status === 200 ? ((await response.json()) as RunRecord) : undefined;
  };
  const alias = (name: string) => local.client.registryJson<AliasView>(`/models/${model}/aliases/${name}`);
  /** Opens an action's dialog, gives the reason and confirms; resolves once the notice says it is done. */
  const act = async (action: string, reason: string, done: RegExp, within = browser.page.locator('main')) => {
    const { page } = browser;
    await within.locator(`button[data-action="${action}"]`).first().click();
    const dialog = page.locator(`dialog[data-action="${action}"]`);
    await dialog.locator('textarea[name="reason"]').fill(reason);
    await dialog.locator('button[type="submit"]').click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('.notice.ok', { hasText: done }).waitFor();
  };
  let stopped: string | undefined;

  it('approves a version that waits for a person: a reason required, the admin key asked once', async () => {
    const { client, platform } = local;
    const { page } = browser;
    await client.upload(
      `datasets/${model}/dataset.json`,
      JSON.stringify({ gate: { approval: 'manual', maxRegression: 1 }, hyperparameters: { epochs: 20 } }),
    );
    const rows = lines.slice(1);
    await client.upload(
      `datasets/${model}/iris-rotated.csv`,
      `${[lines[0], ...rows.slice(7), ...rows.slice(0, 7)].join('\n')}\n`,
    );
    const waiting = await until('a run waiting for approval', async () =>
      (await client.runs(model)).find((r) => r.status === 'RUNNING' && r.step === 'WaitForApproval'),
    );
    // The version it registered (the run names it once it deploys): the one whose lineage names the run.
    const { versions } = await client.registryJson<{ versions: ModelVersion[] }>(`/models/${model}/versions`);
    const version = versions.find((v) => v.lineage.runId === waiting.runId)?.version;
    assert.ok(version, `a version of run ${waiting.runId}`);
    await page.goto(`${dashboard()}#/models/${model}/versions/${version}`);
    await page.locator('.callout', { hasText: `Run ${waiting.runId.slice(0, 8)} waits` }).waitFor();

    await page.locator('.version-header button[data-action="approve"]').click();
    const dialog = page.locator('dialog[data-action="approve"]');
    await dialog.waitFor();
    // No reason: the browser keeps the form, nothing is sent.
    await dialog.locator('button[type="submit"]').click();
    assert.equal(
      await dialog
        .locator('textarea[name="reason"]')
        .evaluate((t) => (t as unknown as { validity: { valid: boolean } }).validity.valid),
      false,
    );
    await dialog.locator('textarea[name="reason"]').fill('checked the confusion matrix by hand');
    // The first action asks for the admin key; a wrong one is refused, and the dialog says what actions need.
    const key = dialog.locator('input[name="adminKey"]');
    await key.fill('not-the-admin-key');
    await dialog.locator('button[type="submit"]').click();
    await dialog
      .locator('.dialog-problem', { hasText: 'open the dashboard through `nimbus dashboard`' })
      .waitFor();
    const still = await client.registryJson<ModelVersion>(`/models/${model}/versions/${version}`);
    assert.equal(still.status, 'registered');
    await browser.shot('action', 'dashboard-action');
    await key.fill(platform.endpoints.adminKey);
    await dialog.locator('button[type="submit"]').click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('.notice.ok', { hasText: `v${version} of ${model} is approved` }).waitFor();
    await page.locator(`.version-header[data-status="approved"]`).waitFor();

    const approved = await client.registryJson<ModelVersion>(`/models/${model}/versions/${version}`);
    assert.equal(approved.status, 'approved');
    const finished = await until('the approved run to deploy', async () => {
      const r = await run(waiting.runId);
      return r?.status === 'RUNNING' ? undefined : r;
    });
    assert.equal(finished.status, 'SUCCEEDED', finished.reason);
    assert.equal(finished.promoted, true);
    assert.equal((await alias('production')).version, version);
    const { audit } = await client.registryJson<{ audit: AuditEntry[] }>(`/models/${model}/audit`);
    const entry = audit.find((e) => e.kind === 'status' && e.action === 'approve' && e.version === version);
    assert.equal(entry?.why, 'checked the confusion matrix by hand');
    assert.match(entry?.who ?? '', /local-admin/);
  });

  it('promotes a version to production and rolls production back, each with a reason', async () => {
    const { page } = browser;
    const before = (await alias('production')).version;
    await page.goto(`${dashboard()}#/models/${model}/versions/1`);
    await page.locator('.version-header[data-version="1"]').waitFor();
    await page.locator('.version-header button[data-action="promote"]').click();
    const dialog = page.locator('dialog[data-action="promote"]');
    assert.equal(await dialog.locator('input[name="alias"]').inputValue(), 'production');
    assert.equal(await dialog.locator('input[name="adminKey"]').isVisible(), false, 'the admin key is kept');
    await dialog.locator('button', { hasText: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });

    await act(
      'promote',
      'v1 is steadier on the holdout',
      /production of iris → v1/,
      page.locator('.version-header'),
    );
    assert.equal((await alias('production')).version, 1);
    await page.locator('.chip[data-alias="production"]').waitFor();

    await act(
      'rollback',
      'v1 was a mistake',
      new RegExp(`production of iris rolled back to v${before}`),
      page.locator('.alias-row[data-alias="production"]'),
    );
    const production = await alias('production');
    assert.equal(production.version, before);
    assert.equal(production.action, 'rollback');
    assert.equal(production.reason, 'v1 was a mistake');
  });

  it('stops a running run from its page, and retries it once it has failed', async () => {
    const { client } = local;
    await client.upload(
      'datasets/endless/dataset.json',
      JSON.stringify({ hyperparameters: { epochs: 10_000 } }),
    );
    await client.upload('datasets/endless/iris.csv', `${lines.join('\n')}\n`);
    const training = await until('the endless run to train', async () =>
      (await client.runs('endless')).find((r) => r.status === 'RUNNING' && r.step === 'Train'),
    );
    stopped = training.runId;
    try {
      await stopAndRetry(training);
    } finally {
      // However the test went, no run of 10,000 epochs is left training.
      await local.client.registry(`/runs/${training.runId}/stop`, { reason: 'test over' });
    }
  });

  async function stopAndRetry(training: RunRecord): Promise<void> {
    const { client } = local;
    const { page } = browser;
    const stopped = training.runId;
    await page.goto(`${dashboard()}#/runs/${stopped}`);
    await page.locator(`.run-header[data-status="RUNNING"]`).waitFor();
    await act('stop', 'wrong file', /is stopping|FAILED/);
    const failed = await until('the stopped run to end', async () => {
      const r = await run(training.runId);
      return r?.status === 'RUNNING' ? undefined : r;
    });
    assert.equal(failed.status, 'FAILED');
    assert.match(failed.reason ?? '', /wrong file/);
    await page.locator(`.run-header[data-status="FAILED"]`).waitFor();

    // Fixed (a few epochs), and retried: a new run on the same dataset version.
    await client.upload('datasets/endless/dataset.json', JSON.stringify({ hyperparameters: { epochs: 5 } }));
    await act('retry', 'the manifest asked for 10,000 epochs', /retries/);
    const retried = await until('the retry named', async () => (await run(training.runId))?.retriedBy);
    await page.locator('.retried-by a', { hasText: retried.slice(0, 12) }).waitFor();
    const retry = await until('the retry to finish', async () => {
      const r = await run(retried);
      return r && r.status !== 'RUNNING' ? r : undefined;
    });
    assert.equal(retry.status, 'SUCCEEDED', retry.reason);
    assert.equal(retry.retryOf, training.runId);
    assert.equal(retry.datasetVersion, failed.datasetVersion);
    assert.equal(await page.locator('button[data-action="retry"]').count(), 0, 'retried once');
  }

  it('pages the runs table, with the page and its size in the link', async () => {
    const { page } = browser;
    const total = (await local.client.registryJson<{ runs: RunRecord[] }>('/runs')).runs.length;
    assert.equal(total, 5);
    await page.goto(`${dashboard()}#/runs?size=2`);
    const range = page.locator('#runs-range');
    await range.filter({ hasText: `1–2 of ${total}` }).waitFor();
    await page.locator('#runs-next').click();
    await range.filter({ hasText: `3–4 of ${total}` }).waitFor();
    assert.match(page.url(), /size=2/);
    assert.match(page.url(), /page=2/);
    await page.locator('#runs-next').click();
    await range.filter({ hasText: `5–5 of ${total}` }).waitFor();
    assert.equal(await page.locator('#runs-next').isDisabled(), true);
    await page.reload();
    await range.filter({ hasText: `5–5 of ${total}` }).waitFor();
    await page.locator('#runs-previous').click();
    await range.filter({ hasText: `3–4 of ${total}` }).waitFor();
    await page.locator('#runs-status').selectOption('FAILED');
    await range.filter({ hasText: '1–1 of 1' }).waitFor();
    assert.equal(await page.locator('table.runs-table tbody tr[data-run]').getAttribute('data-run'), stopped);
  });
}
