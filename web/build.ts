/**
 * Builds the web dashboard's page from its sources in `web/src/`: `app.ts` (and what it imports, Chart.js
 * included) bundled for the browser by esbuild into one ES module, `app.js`; `styles.css` and the stylesheets
 * it imports (`styles/*.css`) bundled into one `styles.css`; `index.html` and `favicon.svg` as they are.
 *
 * Used in two places, with the same options:
 * - the dashboard handler (functions/dashboard/handler.ts), when no built page lies next to it (the local
 *   substrate runs the sources): it builds in memory, once per process;
 * - the dashboard function's CDK bundling (infra/function.ts, `afterBundling`), which runs this file as a
 *   command — `tsx web/build.ts <outDir>` — to write the page into the Lambda bundle's `page/` folder, so
 *   that the deployed function never builds.
 *
 * esbuild is imported only when a page is built: the Lambda bundle leaves it out (an external module).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The page's sources: index.html, favicon.svg, styles.css with styles/, and app.ts with its modules. */
export const PAGE_SOURCE_DIR = fileURLToPath(new URL('./src/', import.meta.url));

/** The browser bundle's file name. */
export const APP_BUNDLE = 'app.js';
/** The stylesheet's file name (sources and page alike). */
export const STYLESHEET = 'styles.css';
/** Files served as they are. */
export const STATIC_FILES = ['index.html', 'favicon.svg'] as const;
/** Every file of the built page. */
export const PAGE_FILES = [...STATIC_FILES, STYLESHEET, APP_BUNDLE] as const;
export type PageFile = (typeof PAGE_FILES)[number];

/** Browsers the bundles target: what Chart.js 4 supports, with ES2020 syntax left as it is. */
const BROWSER_TARGETS = ['es2020', 'chrome100', 'firefox100', 'safari15'];

/** Bundles one entry point for the browser: minified, no source map. */
async function bundle(entry: string): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [entry],
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
  if (!output) throw new Error(`esbuild wrote nothing for ${entry}`);
  return output.text;
}

/** Bundles `app.ts` for the browser: one minified ES module. */
export function bundleApp(sourceDir: string = PAGE_SOURCE_DIR): Promise<string> {
  return bundle(join(sourceDir, 'app.ts'));
}

/** Bundles `styles.css` and the stylesheets it imports, in cascade order, into one minified stylesheet. */
export function bundleStyles(sourceDir: string = PAGE_SOURCE_DIR): Promise<string> {
  return bundle(join(sourceDir, STYLESHEET));
}

/** The page, ready to serve: each file's text by its name. */
export async function buildPage(sourceDir: string = PAGE_SOURCE_DIR): Promise<ReadonlyMap<PageFile, string>> {
  const files = new Map<PageFile, string>();
  for (const file of STATIC_FILES) files.set(file, await readFile(join(sourceDir, file), 'utf8'));
  files.set(STYLESHEET, await bundleStyles(sourceDir));
  files.set(APP_BUNDLE, await bundleApp(sourceDir));
  return files;
}

/** Writes the page, ready to serve, into `outDir`. */
export async function writePage(outDir: string, sourceDir: string = PAGE_SOURCE_DIR): Promise<void> {
  const files = await buildPage(sourceDir);
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of files) writeFileSync(join(outDir, name), text);
}

// As a command (the CDK bundling hook): `tsx web/build.ts <outDir>`.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: tsx web/build.ts <outDir>');
    process.exit(2);
  }
  writePage(resolve(outDir)).catch((error: unknown) => {
    console.error(`the dashboard page did not build: ${(error as Error).message}`);
    process.exitCode = 1;
  });
}
