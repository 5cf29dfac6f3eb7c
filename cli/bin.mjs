#!/usr/bin/env node
// `nimbus` as an installed command (`npm link`, `npm install -g .`), from any folder: the bundle `npm install`
// built (scripts/build-cli.mjs, in cli/dist/) while it is newer than every project file it was built from;
// else — a checkout being edited, or no bundle — cli/nimbus.ts through tsx, which compiles on each run.
import './node-version.mjs';
import { readFileSync, statSync } from 'node:fs';

function bundleIsFresh() {
  try {
    const { builtAt, inputs } = JSON.parse(
      readFileSync(new URL('./dist/inputs.json', import.meta.url), 'utf8'),
    );
    return inputs.every((input) => statSync(new URL(`../${input}`, import.meta.url)).mtimeMs <= builtAt);
  } catch {
    return false;
  }
}

if (bundleIsFresh()) {
  await import('./dist/nimbus.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./nimbus.ts');
}
