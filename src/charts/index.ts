export { type LineChartOptions, lineChart } from './line-chart.ts';
export {
  type ChartFormat,
  type Figure,
  isPng,
  pngSize,
  type RenderOptions,
  renderFigure,
  renderSvg,
  svgToPng,
} from './render.ts';
