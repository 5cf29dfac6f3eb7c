/**
 * Sizes of the Lambda bundles exactly as `cdk synth` builds them (esbuild via NodejsFunction), unzipped and
 * zipped (raw deflate per file, as a zip stores them), against Lambda's limits (50 MB zipped upload, 250 MB
 * unzipped) and our own target for the predict function (5 MB zipped, for cold starts). Native modules
 * (sharp) are installed for Lambda's arm64, as deployed, and counted with the rest ("code only": no maps).
 *
 *   npm run bench:bundles
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnResource, Stack } from 'aws-cdk-lib';
import { functionList } from '../core/declaration.ts';
import { NimbusFunction } from '../infra/function.ts';
import { bundleSizes } from './bundle-size.ts';

// Every function the platform deploys (core/declaration.ts), with the bundle extras it declares.
const functions = functionList();
const outdir = mkdtempSync(join(tmpdir(), 'nimbus-bundles-'));
process.env.CDK_VALIDATION = 'false';
const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
const stack = new Stack(app, 'Bundles');
const started = performance.now();
// Each function with the extras it declares (wasm binaries, sharp for arm64, the dashboard's page).
const built = functions.map(({ dir, bundle }) => ({
  dir,
  construct: new NimbusFunction(stack, dir, { dir, ...bundle }),
}));
const template = app.synth().getStackByName('Bundles').template as {
  Resources: Record<string, { Metadata?: Record<string, string> }>;
};
const seconds = (performance.now() - started) / 1000;

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
console.log(`Lambda bundles (${functions.length} functions bundled in ${seconds.toFixed(1)} s)`);
console.log(
  `  ${'function'.padEnd(18)} ${'unzipped'.padStart(10)} ${'zipped'.padStart(10)} ${'code only'.padStart(10)}`,
);
for (const fn of built) {
  const logicalId = stack.resolve(
    (fn.construct.function.node.defaultChild as CfnResource).logicalId,
  ) as string;
  const dir = join(outdir, template.Resources[logicalId]?.Metadata?.['aws:asset:path'] ?? '');
  const { unzipped, zipped, code } = bundleSizes(dir);
  console.log(
    `  ${fn.dir.padEnd(18)} ${kb(unzipped).padStart(10)} ${kb(zipped).padStart(10)} ${kb(code).padStart(10)}`,
  );
}
console.log('  limits: 50 MB zipped, 250 MB unzipped (Lambda); predict target 5 MB zipped');
rmSync(outdir, { recursive: true, force: true });
