// A trace's run as a chart on the terminal: servers paid for by each policy over time, against what a
// clairvoyant fleet needs (ceil(sessions wanted / max sessions)), and where each policy turned sessions away.
import type { Sample } from './simulator';

export interface ChartSeries {
  /** One letter drawn for it; the first series wins where lines cross. */
  mark: string;
  label: string;
  samples: readonly Sample[];
}

export function asciiChart(series: readonly ChartSeries[], maxSessions: number, width = 72, height = 12): string {
  const first = series[0]?.samples ?? [];
  if (first.length === 0) return '(no samples)';
  const tMax = Math.max(1, first[first.length - 1]!.t);
  const column = (t: number) => Math.min(width - 1, Math.floor((t / tMax) * width));
  /** Per column, the largest value of `pick` among the samples that fall in it. */
  const columns = (samples: readonly Sample[], pick: (s: Sample) => number) => {
    const out = new Array<number>(width).fill(Number.NaN);
    for (const s of samples) {
      const c = column(s.t);
      out[c] = Number.isNaN(out[c]!) ? pick(s) : Math.max(out[c]!, pick(s));
    }
    return out;
  };
  const oracle = columns(first, (s) => Math.ceil(s.demand / maxSessions));
  const lines = series.map((s) => ({ mark: s.mark, values: columns(s.samples, (x) => x.servers) }));
  const top = Math.max(1, ...oracle.filter(Number.isFinite), ...lines.flatMap((l) => l.values.filter(Number.isFinite)));
  const row = (v: number) => height - 1 - Math.min(height - 1, Math.round((v / top) * (height - 1)));
  const grid = Array.from({ length: height }, () => new Array<string>(width).fill(' '));
  oracle.forEach((v, c) => {
    if (Number.isFinite(v)) grid[row(v)]![c] = '·';
  });
  for (const l of [...lines].reverse()) {
    l.values.forEach((v, c) => {
      if (Number.isFinite(v)) grid[row(v)]![c] = l.mark;
    });
  }
  const label = (i: number) =>
    i === 0 ? String(top) : i === height - 1 ? '0' : i === Math.floor((height - 1) / 2) ? String(Math.round(top / 2)) : '';
  const out = grid.map((cells, i) => `${label(i).padStart(5)} ┤${cells.join('')}`);
  out.push(`${''.padStart(5)} └${'─'.repeat(width)}`);
  const hours = tMax / 3600;
  const axis = new Array<string>(width).fill(' ');
  const step = hours > 24 ? 12 : hours > 8 ? 6 : 1;
  for (let h = 0; h <= hours; h += step) {
    const text = `${h}h`;
    const c = Math.min(width - text.length, column(h * 3600));
    for (let i = 0; i < text.length; i++) axis[c + i] = text[i]!;
  }
  out.push(`${''.padStart(6)}${axis.join('')}`);
  for (const s of series) {
    const turned = columns(s.samples, (x) => x.rejected).map((v) => (v > 0 ? 'x' : ' '));
    if (turned.includes('x')) out.push(`${`${s.mark} away`.padStart(6)}${turned.join('')}`);
  }
  out.push(
    `servers paid for: ${series.map((s) => `${s.mark} ${s.label}`).join(', ')}; · what a clairvoyant fleet needs; x = sessions turned away`,
  );
  return out.join('\n');
}
