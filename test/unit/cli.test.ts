/**
 * The `nimbus` CLI's parts that need no platform and no AWS: the target resolution (stack outputs → endpoints),
 * the SigV4 signing, CSV cells typed by a model's signature, progress and tables.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signRequest } from '../../cli/api.ts';
import { CliError, EXIT, table } from '../../cli/output.ts';
import { typedInstance } from '../../cli/predict.ts';
import { localTarget, stackTarget } from '../../cli/target.ts';
import { epochsOf, stepsDone } from '../../cli/watch.ts';
import { OUTPUTS } from '../../core/contract.ts';
import { modelSignature, signatureDef } from '../../core/signature.ts';

describe('nimbus CLI: targets and signing (no AWS)', () => {
  it("maps a stack's CloudFormation outputs to the endpoints it uses", () => {
    const target = stackTarget('Nimbus', 'eu-west-1', {
      [OUTPUTS.apiUrl]: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/',
      [OUTPUTS.apiKeyId]: 'k3y1d',
      [OUTPUTS.datasetsBucket]: 'nimbus-datasets-123',
      [OUTPUTS.artifactsBucket]: 'nimbus-artifacts-123',
      [OUTPUTS.datasetsTable]: 'Nimbus-Datasets',
      [OUTPUTS.runsTable]: 'Nimbus-Runs',
      [OUTPUTS.modelsTable]: 'Nimbus-Models',
      [OUTPUTS.stateMachine]: 'arn:aws:states:eu-west-1:1:stateMachine:p',
    });
    assert.deepEqual(target, {
      kind: 'stack',
      source: 'stack Nimbus (eu-west-1)',
      region: 'eu-west-1',
      api: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod',
      apiKeyId: 'k3y1d',
      datasetsBucket: 'nimbus-datasets-123',
      artifactsBucket: 'nimbus-artifacts-123',
      tables: { datasets: 'Nimbus-Datasets', runs: 'Nimbus-Runs', models: 'Nimbus-Models' },
    });
    assert.equal(target.local, undefined, 'a stack uses the default credential chain');
  });

  it("refuses a stack without the platform's outputs, naming them (exit 3)", () => {
    assert.throws(
      () => stackTarget('Other', 'us-east-1', { [OUTPUTS.apiUrl]: 'https://x/prod/' }),
      (error: unknown) =>
        error instanceof CliError &&
        error.exitCode === EXIT.notFound &&
        /stack Other has no output ApiKeyId, DatasetsBucketName/.test(error.message),
    );
  });

  it('maps a local endpoints file to the emulators, the API key and the admin key', () => {
    const target = localTarget(
      {
        s3: 'http://127.0.0.1:1',
        dynamodb: 'http://127.0.0.1:2',
        api: 'http://127.0.0.1:3/',
        stepFunctions: 'http://127.0.0.1:4',
        apiGateway: 'http://127.0.0.1:5',
        training: 'http://127.0.0.1:6',
        region: 'us-east-1',
        accessKeyId: 'A',
        secretAccessKey: 'S',
        apiKey: 'key',
        adminKey: 'admin',
        datasetsBucket: 'd',
        artifactsBucket: 'a',
        tables: { datasets: 'td', runs: 'tr', models: 'tm' },
        stateMachineArn: 'arn',
        dashboard: 'http://127.0.0.1:3/dashboard/',
      },
      'e.json',
    );
    assert.equal(target.api, 'http://127.0.0.1:3');
    assert.equal(target.adminKey, 'admin');
    assert.deepEqual(target.local, {
      s3: 'http://127.0.0.1:1',
      dynamodb: 'http://127.0.0.1:2',
      accessKeyId: 'A',
      secretAccessKey: 'S',
    });
  });

  it('signs registry changes for API Gateway IAM (SigV4, service execute-api)', async () => {
    const headers = await signRequest(
      {
        url: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/v1/registry/models/iris/aliases/production',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"version":2,"reason":"r"}',
      },
      'eu-west-1',
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' },
    );
    assert.match(
      headers.authorization ?? '',
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    assert.equal(headers['x-amz-security-token'], 'token');
    assert.equal(headers.host, undefined, 'fetch sets Host itself');
  });

  it('types CSV cells by the model signature, and tracks steps and epochs', () => {
    const { inputs } = signatureDef(
      modelSignature({
        kind: 'tabular',
        task: 'classification',
        label: 'y',
        classes: ['a', 'b'],
        features: [
          { name: 'x', type: 'numeric' },
          { name: 'zip', type: 'categorical', categories: ['02139'] },
        ],
      }),
    );
    assert.deepEqual(typedInstance({ x: '1.5', zip: '02139', y: 'a' }, inputs), { x: 1.5, zip: '02139' });
    assert.deepEqual(typedInstance({ x: '', zip: '7' }, inputs), { x: null, zip: '7' });
    assert.equal(stepsDone({ status: 'RUNNING', step: 'Search' }), 2);
    assert.equal(stepsDone({ status: 'RUNNING', step: 'WaitForApproval' }), 5);
    assert.equal(stepsDone({ status: 'SUCCEEDED', step: 'Deploy' }), 7);
    const progress = {
      runId: 'r',
      status: 'RUNNING' as const,
      steps: [],
      trials: [
        { epoch: 10, epochs: 20 },
        { epoch: 5, epochs: 20 },
      ],
    };
    assert.deepEqual(epochsOf(progress), { epoch: 15, epochs: 40 });
    assert.deepEqual(
      table(
        [{ a: 'x', n: 1 }],
        [
          { header: 'A', value: (r) => r.a },
          { header: 'NUM', value: (r) => r.n, right: true },
          { header: 'C', value: () => undefined },
        ],
      ),
      ['A  NUM  C', 'x    1  -'],
    );
  });
});
