/** Minimal inline-SVG line charts (no CDN, no script): the HTML report must open offline. */
export interface Line {
  label: string;
  color: string;
  points: Array<[number, number]>;
}

/** A shaded span of the x axis behind the lines (a fault, a recovery), labelled at its top. */
export interface Band {
  from: number;
  to: number;
  color: string;
  label: string;
}

const W = 720;
const H = 220;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * p >= v) as number) * p;
}

export function lineChart(title: string, unit: string, lines: Line[], bands: readonly Band[] = []): string {
  const xs = [...lines.flatMap((l) => l.points.map(([x]) => x)), ...bands.map((b) => b.to)];
  const ys = lines.flatMap((l) => l.points.map(([, y]) => y));
  const xMax = Math.max(1, ...xs);
  const yMax = niceMax(Math.max(0, ...ys));
  const sx = (x: number): number => PAD.left + (x / xMax) * (W - PAD.left - PAD.right);
  const sy = (y: number): number => H - PAD.bottom - (y / yMax) * (H - PAD.top - PAD.bottom);
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = sy(f * yMax);
    return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="#e5e7eb"/><text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end" font-size="11" fill="#6b7280">${+(f * yMax).toPrecision(3)}</text>`;
  }).join('');
  const xTicks = [0, 0.5, 1].map((f) => `<text x="${sx(f * xMax)}" y="${H - 8}" text-anchor="middle" font-size="11" fill="#6b7280">${Math.round(f * xMax)}s</text>`).join('');
  // Bands first, so the lines draw over them; each spans at least a pixel so an instant fault still shows.
  const shaded = bands.map((b) => {
    const x = sx(b.from);
    const width = Math.max(1, sx(b.to) - x);
    return `<rect x="${x.toFixed(1)}" y="${PAD.top}" width="${width.toFixed(1)}" height="${H - PAD.top - PAD.bottom}" fill="${b.color}" fill-opacity="0.15"><title>${esc(b.label)}</title></rect><text x="${(x + 2).toFixed(1)}" y="${PAD.top + 10}" font-size="10" fill="${b.color}">${esc(b.label)}</text>`;
  }).join('');
  const paths = lines.filter((l) => l.points.length > 0).map((l) => `<polyline fill="none" stroke="${l.color}" stroke-width="1.5" points="${l.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"><title>${esc(l.label)}</title></polyline>`).join('');
  const legend = lines.map((l, i) => `<span style="color:${l.color}">■ ${esc(l.label)}</span>${i < lines.length - 1 ? ' ' : ''}`).join('');
  return `<figure><figcaption>${esc(title)} <small>(${esc(unit)})</small> ${legend}</figcaption><svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(title)}">${grid}${shaded}${xTicks}${paths}</svg></figure>`;
}

export { esc as escapeHtml };
