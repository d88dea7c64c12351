// Charts of the results (loss curves, score against size) as SVG, from vega-lite specifications
// rendered in Node by vega's headless renderer: no browser, no canvas package.
import * as vega from 'vega';
import * as vl from 'vega-lite';

export type Row = Record<string, string | number>;

/** Render a vega-lite specification to an SVG string. */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Every `every`-th point and the last, so a 10,000-step curve stays a small file. */
export function thin<T>(points: readonly T[], max = 400): T[] {
  const every = Math.max(1, Math.ceil(points.length / max));
  return points.filter((_, i) => i % every === 0 || i === points.length - 1);
}

/**
 * One panel per loss term (facet columns), one line per run, loss against optimizer step, as a
 * moving mean over the 10 latest points (one batch's loss is noisy). rows: {run, term, step, value}.
 */
export function lossCurvesSpec(title: string, rows: Row[]): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: rows },
    transform: [{ window: [{ op: 'mean', field: 'value', as: 'smoothed' }], frame: [-9, 0], groupby: ['run', 'term'], sort: [{ field: 'step' }] }],
    facet: { column: { field: 'term', type: 'nominal', title: null } },
    spec: {
      width: 220, height: 170,
      mark: { type: 'line', strokeWidth: 1.2 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
        y: { field: 'smoothed', type: 'quantitative', title: 'loss (mean of 10)', scale: { zero: false } },
        color: { field: 'run', type: 'nominal', title: null, legend: { labelLimit: 400, orient: 'bottom', columns: 2 } },
      },
    },
    resolve: { scale: { y: 'independent' } },
    config: { font: 'sans-serif' },
  } as vl.TopLevelSpec;
}

/** Score against parameter count, one labelled point per model. rows: {model, parameters, score}. */
export function scoreVsSizeSpec(title: string, scoreTitle: string, rows: Row[]): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420, height: 260,
    data: { values: rows },
    layer: [
      { mark: { type: 'point', filled: true, size: 70 } },
      { mark: { type: 'text', align: 'left', dx: 7, fontSize: 10 }, encoding: { text: { field: 'model' } } },
    ],
    encoding: {
      x: { field: 'parameters', type: 'quantitative', title: 'parameters (millions)', scale: { zero: false, padding: 30 } },
      y: { field: 'score', type: 'quantitative', title: scoreTitle, scale: { zero: false, padding: 15 } },
      color: { field: 'model', type: 'nominal', legend: null },
    },
    config: { font: 'sans-serif' },
  } as vl.TopLevelSpec;
}

/** Horizontal bars of one measure per model. rows: {model, value}. */
export function barsSpec(title: string, valueTitle: string, rows: Row[]): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 380, height: { step: 22 },
    data: { values: rows },
    mark: 'bar',
    encoding: {
      y: { field: 'model', type: 'nominal', title: null, sort: null },
      x: { field: 'value', type: 'quantitative', title: valueTitle },
      color: { field: 'model', type: 'nominal', legend: null },
    },
    config: { font: 'sans-serif' },
  } as vl.TopLevelSpec;
}
