// Draws a simulation's samples as a small SVG (no dependency): sessions wanted vs. slots on Running
// servers on top, servers paid for below, rejections as red ticks.
import type { Sample, SimulationResult } from './simulator';

const W = 960;
const PAD = { left: 56, right: 16, top: 28, bottom: 28 };
const TOP_H = 260;
const BOTTOM_H = 140;
const GAP = 36;

export function chartSvg(result: SimulationResult, title: string): string {
  const samples = result.samples ?? [];
  const tMax = Math.max(1, ...samples.map((s) => s.t));
  const x = (t: number) => PAD.left + (t / tMax) * (W - PAD.left - PAD.right);
  const topMax = niceCeil(Math.max(1, ...samples.map((s) => Math.max(s.demand, s.capacity))));
  const botMax = niceCeil(Math.max(1, ...samples.map((s) => s.servers)));
  const topY = (v: number) => PAD.top + TOP_H - (v / topMax) * TOP_H;
  const botTop = PAD.top + TOP_H + GAP;
  const botY = (v: number) => botTop + BOTTOM_H - (v / botMax) * BOTTOM_H;
  const height = botTop + BOTTOM_H + PAD.bottom;

  const line = (pick: (s: Sample) => number, y: (v: number) => number, color: string, step = false) => {
    const points: string[] = [];
    samples.forEach((s, i) => {
      if (step && i > 0) points.push(`${x(s.t).toFixed(1)},${y(pick(samples[i - 1]!)).toFixed(1)}`);
      points.push(`${x(s.t).toFixed(1)},${y(pick(s)).toFixed(1)}`);
    });
    return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points.join(' ')}"/>`;
  };
  const rejections = samples
    .filter((s) => s.rejected > 0)
    .map(
      (s) =>
        `<line x1="${x(s.t).toFixed(1)}" x2="${x(s.t).toFixed(1)}" y1="${PAD.top + TOP_H}" y2="${(PAD.top + TOP_H - Math.min(40, 4 + s.rejected)).toFixed(1)}" stroke="#d62728" stroke-width="2"/>`,
    )
    .join('');
  const hours = tMax / 3600;
  const tickEvery = hours > 12 ? 3 : hours > 3 ? 1 : hours > 1 ? 0.25 : 1 / 12;
  const xTicks: string[] = [];
  for (let h = 0; h <= hours + 1e-9; h += tickEvery) {
    const label = tickEvery >= 1 ? `${h}h` : `${Math.round(h * 60)}m`;
    xTicks.push(`<text x="${x(h * 3600).toFixed(1)}" y="${height - 8}" text-anchor="middle">${label}</text>`);
  }
  const yAxis = (max: number, y: (v: number) => number) =>
    [0, 0.5, 1]
      .map(
        (f) =>
          `<text x="${PAD.left - 6}" y="${(y(max * f) + 4).toFixed(1)}" text-anchor="end">${Math.round(max * f)}</text>` +
          `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(max * f).toFixed(1)}" y2="${y(max * f).toFixed(1)}" stroke="#ddd"/>`,
      )
      .join('');
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="${PAD.left}" y="16" font-size="13" font-weight="bold">${escapeXml(title)} — policy ${result.policy}: rejected ${pct(result.rejectedRatio)}, cost ratio ${result.costRatio.toFixed(2)}</text>
${yAxis(topMax, topY)}
${line((s) => s.capacity, topY, '#1f77b4', true)}
${line((s) => s.demand, topY, '#ff7f0e')}
${rejections}
<text x="${W - PAD.right}" y="${PAD.top + 12}" text-anchor="end"><tspan fill="#ff7f0e">— sessions wanted</tspan>  <tspan fill="#1f77b4">— slots on Running servers</tspan>  <tspan fill="#d62728">| rejected</tspan></text>
${yAxis(botMax, botY)}
${line((s) => s.servers, botY, '#2ca02c', true)}
<text x="${W - PAD.right}" y="${botTop + 12}" text-anchor="end" fill="#2ca02c">— servers paid for (creating, running, draining)</text>
${xTicks.join('')}
</svg>
`;
}

function niceCeil(v: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * magnitude >= v) return m * magnitude;
  return 10 * magnitude;
}

const escapeXml = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
