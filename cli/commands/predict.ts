/** `nimbus predict`: a model's predictions for instances given inline, in a file, or as an image. */
import { type Command, Option } from 'commander';
import type { ModelMetadataResponse, PredictResponse } from '../../core/api-types.ts';
import { SIGNATURE_NAME } from '../../core/predict-request.ts';
import { action, MODELS_HINT, positiveInt } from '../context.ts';
import { CliError, EXIT, metric, table } from '../output.ts';
import { bodyFromFile, bodyFromJson, type PredictBody } from '../predict.ts';

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description("predict with a model's production version (or --version / --label)")
    .argument('<model>', 'model name')
    .option('--data <json>', 'an instance, a list of instances, or a whole {"instances": …} body')
    .option(
      '--file <file>',
      'instances from a .csv (header row), .json, .jsonl, a .png/.jpg image, or - (stdin)',
    )
    .addOption(
      new Option('--version <n>', 'this version').argParser(positiveInt('--version')).conflicts('label'),
    )
    .option('--label <alias>', 'the version this alias serves')
    .action(
      action(
        async (
          ctx,
          model: string,
          options: { data?: string; file?: string; version?: number; label?: string },
        ) => {
          if ((options.data === undefined) === (options.file === undefined)) {
            throw new CliError('give the instances with either --data or --file', EXIT.usage);
          }
          const api = await ctx.api();
          const target =
            options.version !== undefined
              ? `/versions/${options.version}`
              : options.label
                ? `/labels/${encodeURIComponent(options.label)}`
                : '';
          const base = `/v1/models/${encodeURIComponent(model)}${target}`;
          const signature = async () =>
            (await api.get<ModelMetadataResponse>(`${base}/metadata`, { notFoundHint: MODELS_HINT })).metadata
              .signature_def.signature_def[SIGNATURE_NAME];
          const body: PredictBody =
            options.data !== undefined
              ? bodyFromJson(options.data, '--data')
              : await bodyFromFile(options.file as string, signature);
          const answer = await api.post<PredictResponse>(`${base}:predict`, body, {
            auth: 'apiKey',
            notFoundHint: MODELS_HINT,
          });
          ctx.render(answer, (a) => predictionLines(model, a));
        },
      ),
    );
}

/** The predictions as a table (the outputs of a model without them as JSON), and the version that served. */
function predictionLines(model: string, answer: PredictResponse): string[] {
  const served = `(${model} v${answer.model_version})`;
  if (!answer.predictions) return [JSON.stringify(answer.outputs), served];
  return [
    ...table(
      answer.predictions.map((p, i) => ({ i, p })),
      [
        { header: '#', value: ({ i }) => i, right: true },
        {
          header: 'PREDICTION',
          value: ({ p }) => ('label' in p ? p.label : String(Number(p.value.toPrecision(6)))),
        },
        {
          header: 'PROBABILITY',
          value: ({ p }) => ('label' in p ? metric(p.probabilities[p.label]) : undefined),
          right: true,
        },
      ],
    ),
    served,
  ];
}
