/**
 * What the dashboard's end-to-end tests share: the system's Chromium driven by playwright-core, what the page
 * reported (script errors, CSP violations), waits for a chart to be drawn, and screenshots — into
 * test-results/dashboard/, and into docs/ as well with NIMBUS_UPDATE_SCREENSHOTS=1 (`npm run docs:screenshot`).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../core/repo.ts';

/** The system's Chromium (CI installs it with apt-get); playwright downloads no browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where the screenshots go (ignored by git). */
export const OUT_DIR = join(REPO_ROOT, 'test-results', 'dashboard');
const UPDATE_DOCS = process.env.NIMBUS_UPDATE_SCREENSHOTS === '1';

/** What the page's canvas looks like to a script in the page (the test's types have no DOM). */
interface CanvasLike {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
  };
}

/** How much of a canvas is drawn on, and in how many colours: a blank canvas is 0 and 0 or 1. */
export function ink(canvas: Locator): Promise<{ share: number; colours: number }> {
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

/** A browser for one test file: launched before its tests, closed after them. */
export function browserFixture() {
  const state = {} as { context: BrowserContext; page: Page };
  /** What the browser reported: script errors, CSP violations, failed requests. */
  const problems: string[] = [];
  before(async () => {
    mkdirSync(OUT_DIR, { recursive: true });
    assert.ok(
      existsSync(CHROMIUM),
      `no Chromium at ${CHROMIUM}: install it (sudo apt-get install chromium) or set CHROMIUM_PATH`,
    );
    state.context = await chromium.launchPersistentContext(join(OUT_DIR, 'profile'), {
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
    const page = state.context.pages()[0] ?? (await state.context.newPage());
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    state.page = page;
  });
  after(async () => {
    await state.context?.close();
    rmSync(join(OUT_DIR, 'profile'), { recursive: true, force: true }); // the screenshots stay
  });
  return {
    problems,
    get page() {
      return state.page;
    },
    /** Waits until the named chart has drawn its final frame, and checks that it drew something. */
    async chart(name: string): Promise<Locator> {
      const canvas = state.page.locator(`canvas[data-chart="${name}"][data-chart-ready]`).first();
      await canvas.waitFor({ timeout: 300_000 });
      const drawn = await ink(canvas);
      assert.ok(drawn.share > 0.01 && drawn.colours >= 3, `${name} chart drawn: ${JSON.stringify(drawn)}`);
      return canvas;
    },
    /** A full-page screenshot as test-results/dashboard/<name>.png, and docs/<docs>.png when asked for. */
    async shot(name: string, docs?: string): Promise<void> {
      const paths = [
        join(OUT_DIR, `${name}.png`),
        ...(UPDATE_DOCS && docs ? [join(REPO_ROOT, 'docs', `${docs}.png`)] : []),
      ];
      for (const path of paths) await state.page.screenshot({ path, fullPage: true });
    },
  };
}
