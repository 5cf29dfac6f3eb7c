/** cdk-nag's AwsSolutions checks on the synthesized stack, with CloudFormation validation on. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { App } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { synth } from './synth.ts';

/** Synthesizes with cdk-nag; returns each unacknowledged error as "rule at path". */
function nagErrors(app: App): string[] {
  try {
    app.synth();
    return [];
  } catch (error) {
    const report = /found in: (\S+validation-report\.json)/.exec((error as Error).message)?.[1];
    if (!report) throw error;
    const found: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        const rule = node as {
          ruleName?: string;
          severity?: string;
          violatingConstructs?: { constructPath: string }[];
        };
        if (rule.ruleName && rule.severity === 'error') {
          for (const r of rule.violatingConstructs ?? [])
            found.push(`${rule.ruleName} at ${r.constructPath}`);
        }
        Object.values(node).forEach(walk);
      }
    };
    walk(JSON.parse(readFileSync(report, 'utf8')));
    return found;
  }
}

describe('cdk-nag', () => {
  for (const trainingPlatform of ['batch', 'sagemaker'] as const) {
    it(`finds no unacknowledged AwsSolutions error (${trainingPlatform}), with CloudFormation validation on`, () => {
      const { app } = synth({ trainingPlatform }, { validate: true, nag: true });
      assert.deepEqual(nagErrors(app), []);
    });
  }

  it('reports an unacknowledged error (the check is live)', () => {
    const { app, stack } = synth({}, { validate: true, nag: true });
    new s3.Bucket(stack, 'Unlogged');
    const errors = nagErrors(app);
    assert.ok(
      errors.some((e) => /AwsSolutions-S1 at Test\/Unlogged/.test(e)),
      errors.join('\n'),
    );
  });
});
