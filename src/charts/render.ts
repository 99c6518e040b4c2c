/**
 * Charts as files: Vega-Lite (or Vega) specs rendered headless to SVG by vega, and SVG to PNG by
 * resvg (no browser, no canvas, no native build). vega-lite and resvg are loaded on first use, so
 * code that never draws a chart never pays for them.
 */
import { FormatError, SluiceError, ValidationError } from '../errors.ts';

export type ChartFormat = 'svg' | 'png';

/** Anything writeVisualization accepts: a Vega-Lite/Vega spec, SVG text, or PNG bytes. */
export type Figure = Record<string, unknown> | string | Uint8Array;

export interface RenderOptions {
  /** Output format. @default 'svg' */
  format?: ChartFormat;
  /** PNG pixel density: 2 doubles width and height. @default 1 */
  scale?: number;
  /** Background for PNG output (CSS colour); SVG keeps the spec's. @default 'white' */
  background?: string;
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length > 24 && Buffer.from(bytes.buffer, bytes.byteOffset, 8).equals(PNG_MAGIC);
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  if (!isPng(bytes)) throw new FormatError('not a PNG image (bad signature)');
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.readUInt32BE(16), height: view.readUInt32BE(20) };
}

function isSvgText(text: string): boolean {
  return /^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE[^>]*>\s*)?<svg[\s>]/i.test(text);
}

/** Renders a Vega-Lite or Vega spec to SVG text. External data URLs are refused. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const vega = await import('vega');
  const schema = typeof spec.$schema === 'string' ? spec.$schema : '';
  let vegaSpec: unknown = spec;
  if (!/\/schema\/vega\/v/.test(schema)) {
    const { compile } = await import('vega-lite');
    try {
      vegaSpec = compile(spec as never).spec;
    } catch (error) {
      throw new ValidationError(`invalid Vega-Lite spec: ${(error as Error).message}`, { cause: error });
    }
  }
  const loader = vega.loader();
  // A spec is data, not a licence to read local files or fetch URLs on the writer's behalf.
  // vega only logs a failed load and draws an empty chart, so remember the refusal and raise it.
  let refused: string | undefined;
  loader.sanitize = async (uri: string) => {
    refused ??= uri;
    throw new Error('external data refused');
  };
  let view: InstanceType<typeof vega.View> | undefined;
  try {
    view = new vega.View(vega.parse(vegaSpec as never), { renderer: 'none', loader, logLevel: vega.None });
    const svg = await view.toSVG();
    if (refused !== undefined) {
      throw new ValidationError(
        `chart specs may not load external data (${refused}); inline it with data.values`,
      );
    }
    return svg;
  } catch (error) {
    if (error instanceof SluiceError) throw error;
    throw new ValidationError(`cannot render the chart spec: ${(error as Error).message}`, { cause: error });
  } finally {
    view?.finalize();
  }
}

/** Rasterises SVG text to PNG bytes. */
export async function svgToPng(svg: string, options: Omit<RenderOptions, 'format'> = {}): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const scale = options.scale ?? 1;
  if (!(scale > 0 && scale <= 16)) throw new ValidationError(`\`scale\` must be in (0, 16], got ${scale}`);
  try {
    const resvg = new Resvg(svg, {
      fitTo: scale === 1 ? { mode: 'original' } : { mode: 'zoom', value: scale },
      background: options.background ?? 'white',
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    });
    return Buffer.from(resvg.render().asPng());
  } catch (error) {
    throw new ValidationError(`cannot rasterise the SVG: ${(error as Error).message}`, { cause: error });
  }
}

/** Renders any {@link Figure} to the requested format. */
export async function renderFigure(figure: Figure, options: RenderOptions = {}): Promise<Buffer> {
  const format = options.format ?? 'svg';
  if (format !== 'svg' && format !== 'png') {
    throw new ValidationError(`\`format\` must be 'svg' or 'png', got ${String(format)}`);
  }
  if (figure instanceof Uint8Array) {
    if (!isPng(figure)) throw new ValidationError('figure bytes are not a PNG image');
    if (format === 'png') return Buffer.from(figure);
    const { width, height } = pngSize(figure);
    const href = `data:image/png;base64,${Buffer.from(figure).toString('base64')}`;
    return Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}"><image width="${width}" height="${height}" xlink:href="${href}"/></svg>`,
    );
  }
  let svg: string;
  if (typeof figure === 'string') {
    if (!isSvgText(figure))
      throw new ValidationError('figure text is not SVG (it must start with <svg or <?xml)');
    svg = figure;
  } else if (figure !== null && typeof figure === 'object') {
    svg = await renderSvg(figure);
  } else {
    throw new ValidationError('figure must be a Vega-Lite spec object, SVG text or PNG bytes');
  }
  return format === 'svg' ? Buffer.from(svg) : svgToPng(svg, options);
}
