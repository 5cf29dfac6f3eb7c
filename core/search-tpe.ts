/** The Bayesian strategy's suggestion: a tree-structured Parzen estimator (TPE) over the scored trials. */
import type { Random } from './random.ts';
import { fromUnit, toUnit } from './search-sampling.ts';
import {
  higherIsBetter,
  type ParameterSpace,
  type Parameters,
  type ParameterValue,
  type SearchSpec,
  type TrialScore,
} from './search-spec.ts';

/** Share of trials TPE counts as "good". */
const TPE_GAMMA = 0.25;

/** Candidates TPE draws from the good density per suggestion. */
const TPE_CANDIDATES = 24;

/**
 * TPE: split the scored trials into the best γ share ("good") and the rest; per dimension, fit a Parzen
 * density to each (Gaussian kernels on the unit scale; smoothed counts for choices); draw candidates from
 * the good densities and keep the one with the highest good/bad density ratio.
 */
export function tpeSuggest(
  spec: SearchSpec,
  scored: readonly (TrialScore & { score: number })[],
  random: Random,
): Parameters {
  const sign = higherIsBetter(spec.metric) ? -1 : 1;
  const ranked = [...scored].sort((a, b) => sign * (a.score - b.score) || a.trial - b.trial);
  const nGood = Math.max(1, Math.ceil(TPE_GAMMA * ranked.length));
  const good = ranked.slice(0, nGood);
  const bad = ranked.slice(nGood);
  const names = Object.keys(spec.space).sort();
  let best: { point: Parameters; ratio: number } | undefined;
  for (let c = 0; c < TPE_CANDIDATES; c++) {
    const point: Record<string, ParameterValue> = {};
    let logRatio = 0;
    for (const name of names) {
      const dimension = spec.space[name] as ParameterSpace;
      if ('choice' in dimension) {
        const key = (v: ParameterValue) => JSON.stringify(v);
        const keys = dimension.choice.map(key);
        const weights = (trials: readonly TrialScore[]) => {
          const counts = keys.map(() => 1);
          for (const t of trials) {
            const i = keys.indexOf(key(t.parameters[name] as ParameterValue));
            if (i >= 0) counts[i] = (counts[i] as number) + 1;
          }
          const total = counts.reduce((a, b) => a + b, 0);
          return counts.map((n) => n / total);
        };
        const pGood = weights(good);
        const pBad = weights(bad);
        let u = random();
        let index = 0;
        while (index < pGood.length - 1 && u > (pGood[index] as number)) u -= pGood[index++] as number;
        point[name] = dimension.choice[index] as ParameterValue;
        logRatio += Math.log(pGood[index] as number) - Math.log(pBad[index] as number);
      } else {
        const goodUnits = good.map((t) => toUnit(dimension, t.parameters[name] as number));
        const badUnits = bad.map((t) => toUnit(dimension, t.parameters[name] as number));
        const width = Math.max(0.05, 1 / Math.sqrt(goodUnits.length + 1)) * 0.5;
        // Draw from the good mixture: a kernel around a good point (or the uniform prior, as one component).
        const component = Math.floor(random() * (goodUnits.length + 1));
        const centre = goodUnits[component];
        const u = centre === undefined ? random() : clampUnit(centre + width * gaussian(random));
        point[name] = fromUnit(dimension, u);
        const x = toUnit(dimension, point[name] as number);
        logRatio += Math.log(parzen(x, goodUnits, width)) - Math.log(parzen(x, badUnits, width));
      }
    }
    if (!best || logRatio > best.ratio) best = { point, ratio: logRatio };
  }
  return (best as { point: Parameters }).point;
}

/** Density at x of Gaussian kernels at `centres` plus a uniform prior component, on [0, 1]. */
function parzen(x: number, centres: readonly number[], width: number): number {
  let sum = 1; // the prior: uniform density 1
  for (const c of centres) sum += Math.exp(-0.5 * ((x - c) / width) ** 2) / (width * Math.sqrt(2 * Math.PI));
  return sum / (centres.length + 1);
}

function gaussian(random: Random): number {
  const u = Math.max(1e-12, random());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function clampUnit(u: number): number {
  return Math.min(1 - 1e-9, Math.max(0, u));
}
