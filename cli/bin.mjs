#!/usr/bin/env node
// `nimbus` as an installed command (`npm link`, `npm install -g .`): cli/nimbus.ts through tsx, from any folder.
import { register } from 'tsx/esm/api';

register();
await import('./nimbus.ts');
