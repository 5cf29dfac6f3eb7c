import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  BUCKET_ENV,
  BUNDLE_FILES,
  type BucketRole,
  ENV,
  TABLE_ENV,
  type TableRole,
} from '../core/contract.ts';
import { REPO_ROOT } from '../core/repo.ts';
import { acknowledgeManagedPolicy, acknowledgeObjectAccess, acknowledgeUnscopedActions } from './nag.ts';

export interface NimbusFunctionProps {
  /** Folder under `functions/` holding `handler.ts`. */
  readonly dir: string;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default 60 seconds */
  readonly timeout?: Duration;
  /** Ship the tfjs wasm binaries next to the bundle (functions that run a model). @default false */
  readonly tfjs?: boolean;
  /**
   * Build aws/tfjs-models.ts as a file of its own next to the bundle, required only for a model that is not
   * dense (aws/servables.ts). @default false
   */
  readonly tfjsApart?: boolean;
  /**
   * sharp (native image decoding) for the function's architecture, in a Lambda layer of the stack's
   * (`sharpLayer`): the bundle leaves it out, and only an image model's requests load it. @default false
   */
  readonly images?: boolean;
  /**
   * Build the web dashboard's page (web/build.ts, from web/src/) into the bundle's `page/` folder, where the
   * dashboard handler reads it. @default false
   */
  readonly dashboardPage?: boolean;
  /**
   * onnxruntime-node for the function's architecture, in a Lambda layer of the stack's (`onnxRuntimeLayer`):
   * the bundle leaves it out, and only an imported ONNX model loads it. @default false
   */
  readonly onnx?: boolean;
  /** @default ARM_64 */
  readonly architecture?: lambda.Architecture;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * `import.meta.url` in a bundle: the bundle's own file (esbuild leaves `import.meta` empty in CommonJS), so a
 * module finds the files shipped next to it (`new URL('./page/', import.meta.url)`) as it does in the sources.
 */
const IMPORT_META_URL = '__nimbus_import_meta_url';

/**
 * One Lambda function of the platform, with the choices made once: Node.js 24 on arm64, X-Ray tracing,
 * its own log group with retention, source maps, an esbuild bundle with the AWS SDK left to the runtime,
 * and JSON logs at INFO. Bind buckets and tables with `bindBucket`/`bindTable`: env var and grant together.
 */
export class NimbusFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  /** The handler's folder under functions/. */
  readonly dir: string;

  constructor(scope: Construct, id: string, props: NimbusFunctionProps) {
    super(scope, id);
    this.dir = props.dir;
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const architecture = props.architecture ?? lambda.Architecture.ARM_64;
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, 'functions', props.dir, 'handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(60),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: { [ENV.logLevel]: 'INFO', NODE_OPTIONS: '--enable-source-maps' },
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      bundling: {
        format: nodejs.OutputFormat.CJS,
        target: 'node22',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        define: { 'import.meta.url': IMPORT_META_URL },
        banner: `const ${IMPORT_META_URL} = require('node:url').pathToFileURL(__filename).href;`,
        externalModules: [
          '@aws-sdk/*',
          '@tensorflow/tfjs-node',
          '@tensorflow/tfjs-node-gpu',
          ...(props.images ? ['sharp'] : []),
          ...(props.onnx ? ['onnxruntime-node'] : []),
          // The dashboard builds its page with esbuild only from the sources; its bundle has the page built.
          ...(props.dashboardPage ? ['esbuild'] : []),
        ],
        ...(props.tfjs || props.dashboardPage
          ? {
              commandHooks: bundleHooks({
                wasm: props.tfjs ?? false,
                tfjsApart: props.tfjsApart ?? false,
                dashboardPage: props.dashboardPage ?? false,
              }),
            }
          : {}),
      },
      ...(props.images || props.onnx
        ? {
            layers: [
              ...(props.images ? [sharpLayer(this, architecture)] : []),
              ...(props.onnx ? [onnxRuntimeLayer(this, architecture)] : []),
            ],
          }
        : {}),
    });
    acknowledgeManagedPolicy(
      this,
      'service-role/AWSLambdaBasicExecutionRole',
      'The AWS-managed basic execution policy lets the function write to its own log group.',
    );
    acknowledgeUnscopedActions(
      this,
      'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    );
  }

  /**
   * Sets the bucket's env var and grants object reads (of `readKeys`; and writes when asked, to `writeKeys`):
   * GetObject and PutObject on its objects, ListBucket on the bucket (so a missing key reads as NoSuchKey, not
   * AccessDenied). No deletes.
   */
  bindBucket(
    role: BucketRole,
    bucket: s3.IBucket,
    access: 'read' | 'readWrite',
    writeKeys = '*',
    readKeys = '*',
  ): this {
    this.function.addEnvironment(BUCKET_ENV[role], bucket.bucketName);
    grantObjects(this.function, bucket, access, writeKeys, readKeys);
    acknowledgeObjectAccess(
      this,
      bucket,
      readKeys === '*'
        ? `Objects under per-dataset and per-run keys of the ${role} bucket.`
        : `Reads only under ${readKeys} of the ${role} bucket.`,
      readKeys,
    );
    if (access === 'readWrite' && writeKeys !== '*') {
      acknowledgeObjectAccess(
        this,
        bucket,
        `Writes only under ${writeKeys} of the ${role} bucket.`,
        writeKeys,
      );
    }
    return this;
  }

  /**
   * Sets the table's env var and grants reads, and writes when asked: all of them (`readWrite`), or only
   * UpdateItem (`readUpdate`: conditional updates of items, never a put or a delete).
   */
  bindTable(role: TableRole, table: dynamodb.ITable, access: 'read' | 'readWrite' | 'readUpdate'): this {
    this.function.addEnvironment(TABLE_ENV[role], table.tableName);
    if (access === 'readWrite') table.grantReadWriteData(this.function);
    else table.grantReadData(this.function);
    if (access === 'readUpdate') table.grant(this.function, 'dynamodb:UpdateItem');
    return this;
  }
}

/** Least-privilege object access to a platform bucket. */
export function grantObjects(
  grantee: iam.IGrantable,
  bucket: s3.IBucket,
  access: 'read' | 'readWrite',
  writeKeys = '*',
  readKeys = '*',
): void {
  iam.Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [bucket.bucketArn] });
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['s3:GetObject'],
    resourceArns: [bucket.arnForObjects(readKeys)],
  });
  if (access === 'readWrite') {
    // AbortMultipartUpload: a streamed upload (lib-storage) that fails cleans up its parts.
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resourceArns: [bucket.arnForObjects(writeKeys)],
    });
  }
}

/**
 * The stack's layer of sharp for an architecture (one per stack and architecture, shared by the functions
 * that decode images): a native module, installed for Lambda's OS and CPU (not the building machine's) at the
 * version this repository locks, under `nodejs/node_modules` (on Lambda's NODE_PATH, /opt/nodejs/node_modules).
 * A function's own bundle stays free of libvips, which a dense model never uses.
 */
export function sharpLayer(scope: Construct, architecture: lambda.Architecture): lambda.ILayerVersion {
  const stack = Stack.of(scope);
  const cpu = architecture === lambda.Architecture.ARM_64 ? 'arm64' : 'x64';
  const id = `SharpLayer-${cpu}`;
  const existing = stack.node.tryFindChild(id) as lambda.LayerVersion | undefined;
  if (existing) return existing;
  const version = lockedVersion('sharp');
  const install = (outputDir: string) =>
    `npm install --prefix ${join(outputDir, 'nodejs')} --no-save --no-package-lock --no-audit --no-fund ` +
    `--os=linux --cpu=${cpu} --libc=glibc sharp@${version}`;
  return new lambda.LayerVersion(stack, id, {
    description: `sharp ${version} (linux ${cpu}, glibc): image decoding for the functions that serve image models`,
    compatibleArchitectures: [architecture],
    compatibleRuntimes: [lambda.Runtime.NODEJS_24_X],
    removalPolicy: RemovalPolicy.DESTROY,
    code: lambda.Code.fromAsset(join(REPO_ROOT, 'infra'), {
      assetHashType: AssetHashType.CUSTOM,
      assetHash: `sharp-${version}-linux-${cpu}-glibc`,
      bundling: {
        image: lambda.Runtime.NODEJS_24_X.bundlingImage,
        command: ['bash', '-c', install('/asset-output')],
        local: {
          tryBundle(outputDir: string): boolean {
            execSync(install(outputDir), { stdio: ['ignore', 'ignore', 'inherit'] });
            return true;
          },
        },
      },
    }),
  });
}

/**
 * The stack's layer of onnxruntime-node for an architecture (one per stack and architecture): the npm
 * package at the version this repository locks, installed for Linux on that CPU with its install script
 * skipped (it would fetch GPU binaries; the CPU runtime ships inside the package), and the other platforms'
 * binaries removed (arm64 ≈ 25 MB, x64 ≈ 45 MB left), under `nodejs/node_modules` on Lambda's NODE_PATH.
 */
export function onnxRuntimeLayer(scope: Construct, architecture: lambda.Architecture): lambda.ILayerVersion {
  const stack = Stack.of(scope);
  const cpu = architecture === lambda.Architecture.ARM_64 ? 'arm64' : 'x64';
  const id = `OnnxRuntimeLayer-${cpu}`;
  const existing = stack.node.tryFindChild(id) as lambda.LayerVersion | undefined;
  if (existing) return existing;
  const version = lockedVersion('onnxruntime-node');
  const install = (outputDir: string) => {
    const modules = join(outputDir, 'nodejs');
    const bin = join(modules, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
    return (
      `npm install --prefix ${modules} --no-save --no-package-lock --no-audit --no-fund --ignore-scripts ` +
      `--os=linux --cpu=${cpu} onnxruntime-node@${version} && ` +
      `find ${bin} -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + && ` +
      `find ${join(bin, 'linux')} -mindepth 1 -maxdepth 1 ! -name ${cpu} -exec rm -rf {} +`
    );
  };
  return new lambda.LayerVersion(stack, id, {
    description: `onnxruntime-node ${version} (linux ${cpu}, CPU): runs imported ONNX models`,
    compatibleArchitectures: [architecture],
    compatibleRuntimes: [lambda.Runtime.NODEJS_24_X],
    removalPolicy: RemovalPolicy.DESTROY,
    code: lambda.Code.fromAsset(join(REPO_ROOT, 'infra'), {
      assetHashType: AssetHashType.CUSTOM,
      assetHash: `onnxruntime-node-${version}-linux-${cpu}`,
      bundling: {
        image: lambda.Runtime.NODEJS_24_X.bundlingImage,
        command: ['bash', '-c', install('/asset-output')],
        local: {
          tryBundle(outputDir: string): boolean {
            execSync(install(outputDir), { stdio: ['ignore', 'ignore', 'inherit'] });
            return true;
          },
        },
      },
    }),
  });
}

/**
 * Files a bundle needs besides its JavaScript: tfjs-backend-wasm loads its .wasm files from the bundle's own
 * folder; the dashboard's page (static files and its browser bundle, built by esbuild with the options the
 * handler would use) goes to `page/`.
 */
function bundleHooks(options: {
  wasm: boolean;
  tfjsApart: boolean;
  dashboardPage: boolean;
}): nodejs.ICommandHooks {
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir: string, outputDir: string) => [
      ...(options.wasm
        ? [
            `cp ${join(inputDir, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist')}/*.wasm ${outputDir}/`,
          ]
        : []),
      ...(options.tfjsApart
        ? [
            // tfjs in a file of its own, which aws/servables.ts requires only for a model that is not dense.
            `${join(inputDir, 'node_modules', '.bin', 'esbuild')} ${join(inputDir, 'aws', 'tfjs-models.ts')} ` +
              '--bundle --platform=node --format=cjs --minify --target=node22 --log-level=warning ' +
              '--external:@aws-sdk/* --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu ' +
              `--outfile=${join(outputDir, BUNDLE_FILES.tfjsModels)}`,
          ]
        : []),
      ...(options.dashboardPage
        ? [
            `node ${join(inputDir, 'node_modules', 'tsx', 'dist', 'cli.mjs')} ` +
              `${join(inputDir, 'web', 'build.ts')} ${join(outputDir, 'page')}`,
          ]
        : []),
    ],
  };
}

/** The installed (locked) version of a dependency. */
function lockedVersion(name: string): string {
  const manifest = JSON.parse(
    readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8'),
  ) as {
    version: string;
  };
  return manifest.version;
}
