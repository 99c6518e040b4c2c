/** The common chart in one call: a line per series over x, as a Vega-Lite spec. */
import { ValidationError } from '../errors.ts';

export interface LineChartOptions {
  /** Column for the horizontal axis. */
  x: string;
  /** Column for the vertical axis. */
  y: string;
  /** Column whose values split the rows into one coloured line each. */
  series?: string;
  title?: string;
  /** Total image width in pixels (axes and legend included). @default 640 */
  width?: number;
  /** Total image height in pixels. @default 360 */
  height?: number;
  /** Axis type of x; guessed from the first non-null value when absent. */
  xType?: 'quantitative' | 'temporal' | 'ordinal';
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function guessType(value: unknown): 'quantitative' | 'temporal' | 'ordinal' {
  if (value instanceof Date) return 'temporal';
  if (typeof value === 'number' || typeof value === 'bigint') return 'quantitative';
  if (typeof value === 'string' && ISO_DATE.test(value)) return 'temporal';
  return 'ordinal';
}

function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  return value;
}

/** Builds a Vega-Lite line chart spec; render it with `renderFigure` or `writer.writeVisualization`. */
export function lineChart(
  rows: readonly Record<string, unknown>[],
  options: LineChartOptions,
): Record<string, unknown> {
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  for (const [name, value] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(value) || value < 50 || value > 10_000) {
      throw new ValidationError(`\`${name}\` must be an integer from 50 to 10000 pixels, got ${value}`);
    }
  }
  const columns = [options.x, options.y, ...(options.series ? [options.series] : [])];
  const values = rows.map((row, i) => {
    const out: Record<string, unknown> = {};
    for (const c of columns) {
      if (!(c in row))
        throw new ValidationError(`row ${i} has no column "${c}"`, { context: { row: i, column: c } });
      out[c] = plain(row[c]);
    }
    return out;
  });
  const firstX = rows.find((r) => r[options.x] !== null && r[options.x] !== undefined)?.[options.x];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: options.title } : {}),
    width,
    height,
    // `fit` + `padding` makes width/height the size of the whole image, not just the plot area.
    autosize: { type: 'fit', contains: 'padding' },
    background: 'white',
    data: { values },
    mark: { type: 'line', point: values.length <= 50 },
    encoding: {
      x: { field: options.x, type: options.xType ?? guessType(firstX) },
      y: { field: options.y, type: 'quantitative' },
      ...(options.series ? { color: { field: options.series, type: 'nominal' } } : {}),
    },
  };
}
