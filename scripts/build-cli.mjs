#!/usr/bin/env node
/**
 * Bundles the `nimbus` CLI (cli/nimbus.ts) with esbuild into cli/dist/ — `npm install` runs it (`prepare`) — so
 * that `nimbus` starts without compiling TypeScript on every run. The AWS SDK and the other heavy parts are
 * imported where a command needs them, and so land in chunks `--help` never loads. `inputs.json` lists the
 * project's files the bundle was built from: cli/bin.mjs runs the bundle only while none of them is newer.
 *
 *   node scripts/build-cli.mjs [outdir]     (default cli/dist)
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = resolve(process.argv[2] ?? join(root, 'cli', 'dist'));
const builtAt = Date.now();
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const result = await build({
  entryPoints: [join(root, 'cli', 'nimbus.ts')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  // The ES module builds first (the AWS SDK's dist-es): a dynamic import() of a CommonJS build would answer
  // only a `default` export, and `sdk.S3Client` would be undefined.
  mainFields: ['module', 'main'],
  metafile: true,
  logLevel: 'warning',
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __nimbusRequire } from 'node:module'; const require = __nimbusRequire(import.meta.url);",
  },
});
const inputs = Object.keys(result.metafile.inputs)
  .map((input) => relative(root, resolve(root, input)))
  .filter((input) => !input.startsWith('node_modules') && !input.startsWith('..'));
writeFileSync(join(outdir, 'inputs.json'), JSON.stringify({ builtAt, inputs }));
console.log(
  `nimbus CLI bundled into ${relative(process.cwd(), outdir) || '.'} (${inputs.length} project files)`,
);
