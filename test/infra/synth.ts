/** What the synth tests share: the stack as `cdk synth` builds it, without bundling. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { REPO_ROOT } from '../../core/repo.ts';
import type { NimbusPlatformProps } from '../../infra/platform.ts';
import { NimbusStack } from '../../infra/stack.ts';

/** The feature flags `cdk synth` runs with. */
const cdkContext = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: object })
  .context;

/** A synthesized stack; bundling is skipped (no esbuild runs), CloudFormation validation off unless asked. */
export function synth(
  platform: NimbusPlatformProps = {},
  options: { validate?: boolean; nag?: boolean } = {},
) {
  process.env.CDK_VALIDATION = options.validate ? 'true' : 'false';
  const app = new App({ context: { ...cdkContext, 'aws:cdk:bundling-stacks': [] } });
  const stack = new NimbusStack(app, 'Test', { platform });
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, template: () => Template.fromStack(stack) };
}
