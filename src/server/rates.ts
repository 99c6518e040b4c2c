/**
 * Per-second rates of counters the API reads anyway (queue counts, poller totals), from the
 * samples its own answers take: no timer, no background polling of a backend. A rate is the
 * change since the oldest sample of the last minute that is at least a couple of seconds old,
 * so a dashboard refreshing every few seconds sees rates over up to a minute. A counter that went
 * down (a queue's completed jobs pruned, a restart) restarts its rate instead of showing a
 * negative one.
 */

interface Sample {
  at: number;
  values: Record<string, number>;
}

export interface RateWindowOptions {
  /** How far back rates look. @default 60000 */
  windowMs?: number;
  /** Shortest span a rate is computed over. @default 2000 */
  minSpanMs?: number;
  /** Sample series kept (one per queue or poller). @default 1000 */
  maxKeys?: number;
}

export class RateWindow {
  private readonly series = new Map<string, Sample[]>();
  private readonly windowMs: number;
  private readonly minSpanMs: number;
  private readonly maxKeys: number;

  constructor(options: RateWindowOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.minSpanMs = options.minSpanMs ?? 2_000;
    this.maxKeys = options.maxKeys ?? 1000;
  }

  /**
   * Records `values` for `key` and returns the rate per second of each since the reference sample,
   * or undefined while there is none old enough.
   */
  observe(key: string, values: Record<string, number>, now = Date.now()): Record<string, number> | undefined {
    let samples = this.series.get(key);
    if (!samples) {
      if (this.series.size >= this.maxKeys) this.series.delete(this.series.keys().next().value as string);
      samples = [];
      this.series.set(key, samples);
    }
    while (samples.length > 0 && (samples[0] as Sample).at < now - this.windowMs) samples.shift();
    const reference = samples.find((s) => now - s.at >= this.minSpanMs);
    // Samples closer than half a second replace each other: a burst of requests keeps few.
    const last = samples.at(-1);
    if (last && now - last.at < 500 && samples.length > 1) samples.pop();
    samples.push({ at: now, values: { ...values } });
    if (!reference) return undefined;
    const seconds = (now - reference.at) / 1000;
    const rates: Record<string, number> = {};
    for (const [name, value] of Object.entries(values)) {
      const before = reference.values[name];
      if (before === undefined) continue;
      rates[name] = value >= before ? round((value - before) / seconds) : 0;
    }
    return rates;
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
