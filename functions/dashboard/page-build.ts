/**
 * Builds the dashboard page: `page/app.ts` (and what it imports, Chart.js included) bundled for the browser
 * by esbuild into one ES module, `app.js`, next to the page's static files.
 *
 * Used in two places, with the same options:
 * - the dashboard handler, when no `app.js` lies next to it (the local substrate runs the sources): it bundles
 *   in memory, once per process;
 * - the dashboard function's CDK bundling (infra/function.ts, `afterBundling`), which runs this file as a
 *   command — `tsx functions/dashboard/page-build.ts <outDir>` — to write `app.js` and the static files into
 *   the Lambda bundle's `page/` folder, so that the deployed function never builds.
 *
 * esbuild is imported only when a bundle is built: the Lambda bundle leaves it out (an external module).
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The page's sources: index.html, styles.css, favicon.svg and app.ts with its modules. */
export const PAGE_SOURCE_DIR = fileURLToPath(new URL('./page/', import.meta.url));

/** Files served as they are. */
export const STATIC_FILES = ['index.html', 'styles.css', 'favicon.svg'] as const;
export type StaticFile = (typeof STATIC_FILES)[number];

/** The browser bundle's file name. */
export const APP_BUNDLE = 'app.js';

/** Browsers the bundle targets: what Chart.js 4 supports, with ES2020 syntax left as it is. */
const BROWSER_TARGETS = ['es2020', 'chrome100', 'firefox100', 'safari15'];

/** Bundles `page/app.ts` for the browser: one minified ES module, no source map. */
export async function bundleApp(sourceDir: string = PAGE_SOURCE_DIR): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(sourceDir, 'app.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: BROWSER_TARGETS,
    minify: true,
    legalComments: 'eof',
    write: false,
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error(`esbuild wrote nothing for ${join(sourceDir, 'app.ts')}`);
  return output.text;
}

/** Writes the page, ready to serve, into `outDir`: the static files and the bundle. */
export async function writePage(outDir: string, sourceDir: string = PAGE_SOURCE_DIR): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  for (const file of STATIC_FILES) copyFileSync(join(sourceDir, file), join(outDir, file));
  writeFileSync(join(outDir, APP_BUNDLE), await bundleApp(sourceDir));
}

// As a command (the CDK bundling hook): `tsx functions/dashboard/page-build.ts <outDir>`.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: tsx functions/dashboard/page-build.ts <outDir>');
    process.exit(2);
  }
  writePage(resolve(outDir)).catch((error: unknown) => {
    console.error(`the dashboard page did not build: ${(error as Error).message}`);
    process.exitCode = 1;
  });
}
