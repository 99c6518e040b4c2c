import { describe, expect, it } from 'vitest';
import { isPng, lineChart, pngSize, renderFigure } from '../../src/charts/index.ts';

const rows = Array.from({ length: 30 }, (_, i) => ({
  day: new Date(Date.UTC(2026, 0, 1 + i)),
  value: Math.sin(i / 3) * 10,
  sensor: i % 2 === 0 ? 'a' : 'b',
}));

describe('charts', () => {
  it('lineChart renders to a valid PNG of exactly the requested size', async () => {
    const spec = lineChart(rows, {
      x: 'day',
      y: 'value',
      series: 'sensor',
      width: 500,
      height: 300,
      title: 'T',
    });
    const png = await renderFigure(spec, { format: 'png' });
    expect(isPng(png)).toBe(true);
    expect(pngSize(png)).toEqual({ width: 500, height: 300 });
    // IEND chunk closes a complete PNG.
    expect(png.subarray(png.length - 8, png.length - 4).toString('latin1')).toBe('IEND');
    const double = await renderFigure(spec, { format: 'png', scale: 2 });
    expect(pngSize(double)).toEqual({ width: 1000, height: 600 });
  });

  it('renders SVG with the data drawn, and converts raw SVG and PNG inputs', async () => {
    const svg = (await renderFigure(lineChart(rows, { x: 'day', y: 'value' }))).toString();
    expect(svg).toMatch(/^<svg[^>]+width="640" height="360"/);
    expect(svg).toContain('<path');
    const raw =
      '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="red"/></svg>';
    expect((await renderFigure(raw)).toString()).toBe(raw);
    const png = await renderFigure(raw, { format: 'png' });
    expect(pngSize(png)).toEqual({ width: 40, height: 20 });
    expect((await renderFigure(png, { format: 'png' })).equals(png)).toBe(true);
    expect((await renderFigure(png, { format: 'svg' })).toString()).toContain('data:image/png;base64,');
  });

  it('rejects bad figures and specs that load external data', async () => {
    await expect(renderFigure('hello')).rejects.toMatchObject({ code: 'E020' });
    await expect(renderFigure(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'E020' });
    const sneaky = {
      data: { url: 'file:///etc/passwd' },
      mark: 'point',
      encoding: { x: { field: 'a', type: 'nominal' } },
    };
    await expect(renderFigure(sneaky)).rejects.toThrow(/external data/);
    expect(() => lineChart([{ a: 1 }], { x: 'a', y: 'b' })).toThrow(/row 0 has no column "b"/);
    expect(() => lineChart([], { x: 'a', y: 'b', width: 5 })).toThrow(/width/);
  });
});
