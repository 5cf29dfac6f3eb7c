/**
 * PlanTrials and RecordTrials: the hyperparameter search around the training Map state.
 *
 * - PlanTrials (after Preprocess): reads the manifest's `search` (core/search-spec.ts) and plans the first round
 *   of trials as training job specs. Without a search: one trial with the defaults, trained straight into
 *   the run's model folder. Before any job starts, the parameters of the model are counted against the
 *   job's budget — of the defaults, or of the largest model the search's space can produce — and a model
 *   over it fails the run (TrainingBudgetError, naming the count and the budget).
 * - RecordTrials (after each round): reads each trial's `card.json` for its validation score, records every
 *   trial in the runs table, and plans the next round — or, when the search is over, puts the best trial
 *   (or an ensemble of the best `size`; for a stack, with its meta-model fitted on the members' validation
 *   predictions) into the run's model folder, where Evaluate, RegisterModel and Deploy find it.
 * Input: PipelineState. Output: SearchState.
 */
import { bucketName } from '../../aws/config.ts';
import { copyObject, getBytes, getBytesIfExists, getJson, putJson } from '../../aws/object-store.ts';
import { getRun, putTrial, updateRun } from '../../aws/runs.ts';
import { loadPredictor } from '../../aws/servables.ts';
import { describeRoundCost } from '../../aws/training-jobs.ts';
import { checkParameterBudget, jobBudget, jobMinutes, type ModelInput, sizeOf } from '../../core/budget.ts';
import { crossValidatedScore } from '../../core/cross-validation.ts';
import type { EnsembleManifest } from '../../core/ensemble.ts';
import { NimbusError } from '../../core/errors.ts';
import { ARTIFACTS, KEYS } from '../../core/keys.ts';
import {
  failureReason,
  type PipelineState,
  type PlannedTrial,
  type ProcessedSplit,
  type SearchState,
  type TrainingCard,
  type TrainingJobSpec,
} from '../../core/pipeline.ts';
import {
  DEFAULT_STACK_REGULARIZATION,
  largestTrial,
  type Parameters,
  parseSearchSpec,
  type SearchSpec,
} from '../../core/search-spec.ts';
import {
  plannedTrials,
  rankTrials,
  suggestTrials,
  trialHyperparameters,
  trialScore,
} from '../../core/search-trials.ts';
import { splitData } from '../../core/split-data.ts';
import { fitStack, type StackModel } from '../../core/stacking.ts';
import { runCost, type TrainingJobCost } from '../../core/training-cost.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('search');

/** No trial produced a model; the message carries the trials' own reasons. */
class TrainingFailedError extends NimbusError {}
const artifactsBucket = bucketName('artifacts');

export async function handler(state: PipelineState): Promise<SearchState> {
  const { preprocess, dataset } = state;
  if (!preprocess || !dataset || dataset.skip) throw new Error('the search needs $.dataset and $.preprocess');
  logger.appendKeys({ runId: state.runId });
  const jobs = planner(preprocess.trainingJob, preprocess.modelInput, searchOf(state));
  return state.search ? recordTrials(state, state.search, jobs) : planTrials(state, jobs);
}

/**
 * What plans the training jobs: the run's base job, what its model is built for, and `jobFor`, which turns a
 * trial into its job spec after checking the trial's model against the parameter budget.
 */
interface Planner {
  readonly base: TrainingJobSpec;
  readonly input: ModelInput;
  readonly jobFor: (trial: PlannedTrial) => TrainingJobSpec;
}

/** The run's search, as planned (its spec is in the state once planned, else read from the manifest). */
function searchOf(state: PipelineState): SearchSpec | undefined {
  if (state.search) return state.search.spec;
  const manifest = state.dataset && !state.dataset.skip ? state.dataset.manifest : undefined;
  if (manifest?.search === undefined || !state.preprocess) return undefined;
  return parseSearchSpec(manifest.search, state.preprocess.trainingJob.hyperparameters, taskOf(state));
}

function taskOf(state: PipelineState): 'classification' | 'regression' {
  return state.dataset && !state.dataset.skip ? state.dataset.schema.task : 'classification';
}

function planner(base: TrainingJobSpec, input: ModelInput, spec: SearchSpec | undefined): Planner {
  // A search's trials share the run's minutes: each trains at most its share (core/budget.ts jobMinutes).
  const trials = spec ? plannedTrials(spec) : 1;
  const budget = jobBudget({ ...base.budget, minutes: jobMinutes(base.budget, trials) });
  return {
    base: { ...base, budget },
    input,
    jobFor(trial) {
      const hyperparameters = trialHyperparameters(base.hyperparameters, trial.parameters);
      checkParameterBudget(
        hyperparameters,
        input,
        base.budget.parameters,
        `trial ${trial.trial}'s model (${sizeOf(hyperparameters)})`,
      );
      return {
        ...base,
        budget,
        trial: trial.trial,
        modelPrefix: trial.modelPrefix,
        checkpointPrefix: KEYS.checkpointPrefix(base.model, base.runId, trial.trial),
        hyperparameters,
      };
    },
  };
}

async function planTrials(state: PipelineState, { base, input, jobFor }: Planner): Promise<SearchState> {
  const spec = searchOf(state);
  if (spec === undefined) {
    checkParameterBudget(base.hyperparameters, input, base.budget.parameters);
    await updateRun(state.runId, { step: 'Train', hyperparameters: { ...base.hyperparameters } });
    const only: PlannedTrial = { trial: 0, parameters: {}, modelPrefix: base.modelPrefix, status: 'PLANNED' };
    return { trials: [only], next: [base], done: false };
  }
  // Every trial the space can produce, at once: its largest model must fit the budget.
  const largest = largestTrial(spec, base.hyperparameters, input);
  checkParameterBudget(
    largest.hyperparameters,
    input,
    base.budget.parameters,
    `the search's largest model (${sizeOf(largest.hyperparameters)})`,
  );
  const trials = plan(base, [], suggestTrials(spec, []));
  await updateRun(state.runId, { step: 'Search', hyperparameters: { ...base.hyperparameters } });
  logger.info('search planned', {
    strategy: spec.strategy,
    trials: plannedTrials(spec),
    firstRound: trials.length,
    minutesPerTrial: base.budget.minutes,
  });
  return { spec, trials, next: trials.map(jobFor), done: false };
}

/** New trials, numbered after the existing ones, each with its own model and checkpoint folders. */
function plan(
  base: TrainingJobSpec,
  existing: readonly PlannedTrial[],
  suggestions: readonly Parameters[],
): PlannedTrial[] {
  return suggestions.map((parameters, i) => {
    const trial = existing.length + i + 1;
    return { trial, parameters, modelPrefix: trialPrefix(base, trial), status: 'PLANNED' };
  });
}

function trialPrefix(base: TrainingJobSpec, trial: number): string {
  return `${KEYS.runPrefix(base.model, base.runId)}trials/${trial}/model/`;
}

async function readCard(prefix: string): Promise<TrainingCard | undefined> {
  const bytes = await getBytesIfExists(artifactsBucket, prefix + ARTIFACTS.card);
  return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as TrainingCard) : undefined;
}

async function recordTrials(
  state: PipelineState,
  search: SearchState,
  { base, jobFor }: Planner,
): Promise<SearchState> {
  const { spec } = search;
  const round = new Set(search.next.map((job) => job.trial));
  const errors = new Map((state.trialResults ?? []).filter((r) => r.error).map((r) => [r.trial, r.error]));
  const costs = await recordCost(state, round);
  const metric = spec?.metric ?? 'validationLoss';
  const trials = await Promise.all(
    search.trials.map(async (trial): Promise<PlannedTrial> => {
      if (!round.has(trial.trial)) return trial;
      const card = await readCard(trial.modelPrefix);
      // With cross-validation a trial is ranked by its folds' mean, else by its validation split.
      const score = card?.crossValidation
        ? crossValidatedScore(card.crossValidation, metric)
        : trialScore(card?.training.final, metric);
      const error = errors.get(trial.trial);
      const outcome: PlannedTrial =
        card && score !== undefined
          ? { ...trial, status: 'SUCCEEDED', score }
          : {
              ...trial,
              status: 'FAILED',
              reason: error ? failureReason(error) : 'the trial wrote no model card',
            };
      if (spec) {
        await putTrial({
          parentRunId: state.runId,
          trial: trial.trial,
          status: outcome.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED',
          parameters: { ...trial.parameters },
          metric,
          modelPrefix: trial.modelPrefix,
          finishedAt: new Date().toISOString(),
          ...(outcome.score === undefined ? {} : { score: outcome.score }),
          ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
          ...(card ? { seconds: card.training.seconds } : {}),
          ...(costs.has(trial.trial) ? { cost: costs.get(trial.trial) } : {}),
        });
        logger.info('trial finished', { trial: trial.trial, status: outcome.status, score: outcome.score });
      }
      return outcome;
    }),
  );

  if (spec) {
    const scores = trials.map((t) => ({ trial: t.trial, parameters: t.parameters, score: t.score }));
    const suggestions = suggestTrials(spec, scores);
    if (suggestions.length > 0) {
      const planned = plan(base, trials, suggestions);
      return {
        spec,
        trials: [...trials, ...planned],
        next: planned.map(jobFor),
        done: false,
      };
    }
  }

  const ranked = rankTrials(
    { metric },
    trials.map((t) => ({ trial: t.trial, parameters: t.parameters, score: t.score })),
  );
  const best = ranked[0];
  if (!best || best.score === undefined) {
    if (!spec) throw new TrainingFailedError(trials[0]?.reason ?? 'training failed');
    const reasons = trials.map((t) => `trial ${t.trial}: ${t.reason ?? t.status}`).slice(0, 5);
    throw new TrainingFailedError(`every trial failed: ${reasons.join('; ')}`);
  }
  const winner = trials.find((t) => t.trial === best.trial) as PlannedTrial;
  const members = spec?.ensemble
    ? ranked
        .filter((t) => t.score !== undefined)
        .slice(0, spec.ensemble.size)
        .map((t) => trials.find((p) => p.trial === t.trial) as PlannedTrial)
    : [];
  if (spec) await assemble(base, winner, members, spec, trials.length, best.score, taskOf(state));
  return {
    ...(spec ? { spec } : {}),
    trials,
    next: [],
    done: true,
    best: { trial: best.trial, score: best.score },
  };
}

/**
 * Reads the round's training jobs from the services that ran them (aws/training-jobs.ts), prices them, and
 * adds them to the run's cost (its record keeps every round's jobs). Never fails the run: a job whose
 * account cannot be read is listed as unrecorded, with why. Returns each trial's job cost.
 */
async function recordCost(
  state: PipelineState,
  round: ReadonlySet<number>,
): Promise<Map<number, TrainingJobCost>> {
  const results = (state.trialResults ?? []).filter((r) => round.has(r.trial));
  try {
    const { jobs, unrecorded } = await describeRoundCost(state.runId, state.trainingPlatform, results);
    const earlier = (await getRun(state.runId))?.cost;
    const cost = runCost(jobs, unrecorded, earlier);
    await updateRun(state.runId, { cost });
    if (unrecorded.length > 0) logger.warn('training jobs without a cost', { unrecorded });
    return new Map(jobs.map((job) => [job.trial, job]));
  } catch (error) {
    logger.warn("the run's training cost was not recorded", { error: (error as Error).message });
    return new Map();
  }
}

/**
 * Puts the search's result into the run's model folder: the best trial's model files and card (its
 * lineage now says which search chose it), or, for an ensemble, each member in `members/<i>/` plus
 * `ensemble.json` (with a stack's meta-model).
 */
async function assemble(
  base: TrainingJobSpec,
  winner: PlannedTrial,
  members: readonly PlannedTrial[],
  spec: SearchSpec,
  trialCount: number,
  bestScore: number,
  task: 'classification' | 'regression',
): Promise<void> {
  const target = base.modelPrefix;
  const card = (await readCard(winner.modelPrefix)) as TrainingCard;
  const search = {
    strategy: spec.strategy,
    trials: trialCount,
    metric: spec.metric,
    bestTrial: winner.trial,
    bestScore,
  };
  let lineage = { ...card.lineage, search };
  if (members.length > 1 && spec.ensemble) {
    const { method, regularization } = spec.ensemble;
    const manifest: EnsembleManifest = {
      method,
      members: members.map((m, i) => ({ trial: m.trial, folder: `members/${i}/` })),
      ...(method === 'stack'
        ? { stack: await fitMetaModel(base, members, task, regularization ?? DEFAULT_STACK_REGULARIZATION) }
        : {}),
    };
    await Promise.all(
      members.flatMap((m, i) =>
        [ARTIFACTS.modelJson, ARTIFACTS.weights].map((file) =>
          copyObject(artifactsBucket, m.modelPrefix + file, `${target}members/${i}/${file}`),
        ),
      ),
    );
    await putJson(artifactsBucket, target + ARTIFACTS.ensemble, manifest);
    lineage = { ...lineage, ensemble: { method: manifest.method, trials: members.map((m) => m.trial) } };
  } else {
    await Promise.all(
      [ARTIFACTS.modelJson, ARTIFACTS.weights].map((file) =>
        copyObject(artifactsBucket, winner.modelPrefix + file, target + file),
      ),
    );
  }
  await putJson(artifactsBucket, target + ARTIFACTS.card, { ...card, lineage });
  await updateRun(base.runId, {
    hyperparameters: card.lineage.hyperparameters,
    search: { ...search, ...(lineage.ensemble ? { ensemble: lineage.ensemble.trials } : {}) },
  });
  logger.info('search finished', { ...search, ensemble: lineage.ensemble });
}

/**
 * A stack's meta-model (core/stacking.ts): logistic regression for a classifier, ridge for a regressor,
 * fitted on each member's predictions of the validation split — rows no member trained on.
 *
 * The predictions are made here, in RecordTrials, the one step that knows the members when the search ends.
 * A dense member runs as plain JS (aws/servables.ts loadPredictor, core/dense-model.ts), so a tabular stack
 * loads no tfjs in this function; a CNN member loads tfjs from its own file beside the handler, only then
 * (the bundle's `tfjsApart`, as predict's: core/declaration/functions.ts). Not in the trainer: every trial of
 * every search would predict its validation rows for the few searches that stack, and both training
 * contracts would carry another file. Not in Evaluate (which loads tfjs anyway): the run's model folder
 * would not be a servable ensemble until then, and the step that scores the model would also choose it.
 */
async function fitMetaModel(
  base: TrainingJobSpec,
  members: readonly PlannedTrial[],
  task: 'classification' | 'regression',
  regularization: number,
): Promise<StackModel> {
  const split = await getJson<ProcessedSplit>(artifactsBucket, base.validationKey);
  const data = await splitData(split, (key) => getBytes(artifactsBucket, key));
  const predictions: number[][][] = [];
  // One member at a time: a CNN's weights and tensors are released before the next one loads.
  for (const member of members) {
    const predictor = await loadPredictor(artifactsBucket, member.modelPrefix);
    try {
      predictions.push(await predictor.predict(data.x));
    } finally {
      predictor.dispose();
    }
  }
  const stack = fitStack(
    task === 'regression' ? 'ridge' : 'logistic',
    predictions,
    data.labels,
    regularization,
  );
  logger.info('stack fitted', {
    kind: stack.kind,
    rows: stack.rows,
    members: members.length,
    regularization,
  });
  return stack;
}
