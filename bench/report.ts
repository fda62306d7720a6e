// Turns bench/results/*.json into bench/results/REPORT.md (a table per benchmark, its targets and ratios,
// the machine it ran on) and bench/results/relay-latency.svg (relay latency against offered load).
// Run by `npm run bench` after the benchmarks, or alone: `node -r ./test/support/ts-register.js bench/report.ts`.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type Row = Record<string, unknown>;
interface Result {
  name: string;
  machine?: Record<string, unknown>;
  rows: Row[];
  ratios?: Row[];
  peakSustained?: Record<string, number>;
  [k: string]: unknown;
}

const dir = path.join(__dirname, 'results');

const TITLES: Record<string, string> = {
  relay:
    'Relay: IRC channel → XMPP MUC (Switchboard bridge vs biboumi vs a bare forwarder vs the servers alone)',
  roster: 'Buddy list: 10,000 contacts over XMPP and IRC; presence fan-out to 500 WebSocket clients',
  'call-setup': 'Call setup: POST /api/v1/calls → SIP 180 Ringing at baresip, and → first media packet',
  'queue-embedded': 'Embedded queue (SQLite): enqueue and processing rate, start latency',
};

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1);
  if (typeof v === 'object') return JSON.stringify(v).replace(/\|/g, '\\|');
  return String(v).replace(/\|/g, '\\|');
}

function table(rows: Row[]): string {
  if (!rows.length) return '_no rows_\n';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return (
    [
      `| ${cols.join(' | ')} |`,
      `| ${cols.map(() => '---').join(' | ')} |`,
      ...rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(' | ')} |`),
    ].join('\n') + '\n'
  );
}

/** A small SVG line chart: latency (log scale) against offered load, p50 dashed and p99 solid, per path. */
function relayChart(rows: Row[]): string {
  const W = 720;
  const H = 420;
  const m = { l: 70, r: 170, t: 30, b: 50 };
  const paths = [...new Set(rows.map((r) => String(r.path)))];
  const xs = [...new Set(rows.map((r) => Number(r['offered /s'])))].sort((a, b) => a - b);
  const lat = rows.flatMap((r) => [Number(r['p50 ms']), Number(r['p99 ms'])]).filter((v) => v > 0);
  const yMin = Math.pow(10, Math.floor(Math.log10(Math.min(...lat))));
  const yMax = Math.pow(10, Math.ceil(Math.log10(Math.max(...lat))));
  const x = (v: number) =>
    m.l +
    ((Math.log(v) - Math.log(xs[0]!)) / (Math.log(xs[xs.length - 1]!) - Math.log(xs[0]!) || 1)) *
      (W - m.l - m.r);
  const y = (v: number) =>
    H - m.b - ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (H - m.t - m.b);
  const colours = ['#2f6fed', '#d93f3f', '#22a559', '#8a5200'];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${m.l}" y="18" font-size="14" font-weight="bold">Relay latency against offered load (log scales)</text>`,
  ];
  for (let d = yMin; d <= yMax; d *= 10) {
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`);
    out.push(`<text x="${m.l - 8}" y="${y(d) + 4}" text-anchor="end">${d} ms</text>`);
  }
  for (const v of xs) {
    out.push(`<line x1="${x(v)}" x2="${x(v)}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/>`);
    out.push(`<text x="${x(v)}" y="${H - m.b + 18}" text-anchor="middle">${v}</text>`);
  }
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">offered messages/s</text>`);
  paths.forEach((p, i) => {
    const colour = colours[i % colours.length]!;
    const pts = rows
      .filter((r) => r.path === p)
      .sort((a, b) => Number(a['offered /s']) - Number(b['offered /s']));
    for (const [key, dash] of [
      ['p99 ms', ''],
      ['p50 ms', ' stroke-dasharray="5 4"'],
    ] as const) {
      const d = pts
        .filter((r) => Number(r[key]) > 0)
        .map(
          (r, k) =>
            `${k ? 'L' : 'M'}${x(Number(r['offered /s'])).toFixed(1)},${y(Number(r[key])).toFixed(1)}`,
        )
        .join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
    }
    const ly = m.t + 20 + i * 36;
    out.push(
      `<line x1="${W - m.r + 14}" x2="${W - m.r + 40}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
    );
    out.push(`<text x="${W - m.r + 46}" y="${ly + 4}">${p} p99</text>`);
    out.push(
      `<line x1="${W - m.r + 14}" x2="${W - m.r + 40}" y1="${ly + 14}" y2="${ly + 14}" stroke="${colour}" stroke-width="2" stroke-dasharray="5 4"/>`,
    );
    out.push(`<text x="${W - m.r + 46}" y="${ly + 18}">${p} p50</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export function writeReport(): string {
  const results: Result[] = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Result);
  const md: string[] = [
    '# Switchboard benchmark report',
    '',
    'Written by `npm run bench` from `bench/results/*.json` (each benchmark writes its own file; this page is',
    'regenerated from whatever is there, so rows show when each benchmark last ran). Numbers come from shared',
    '2-core machines: they are for trends and ratios, not pass/fail.',
    '',
  ];
  for (const r of results) {
    md.push(`## ${TITLES[r.name] ?? r.name}`, '');
    if (r.machine)
      md.push(
        `Machine: ${Object.entries(r.machine)
          .map(([k, v]) => `${k} ${cell(v)}`)
          .join(', ')}`,
        '',
      );
    md.push(table(r.rows));
    if (r.ratios) md.push('Ratios:', '', table(r.ratios));
    if (r.peakSustained)
      md.push(
        `Peak sustained messages/s: ${Object.entries(r.peakSustained)
          .map(([k, v]) => `${k} ${cell(v)}`)
          .join(', ')}.`,
        '',
      );
    if (r.name === 'relay') {
      writeFileSync(path.join(dir, 'relay-latency.svg'), relayChart(r.rows));
      md.push('![relay latency against offered load](relay-latency.svg)', '');
    }
  }
  const file = path.join(dir, 'REPORT.md');
  writeFileSync(file, md.join('\n'));
  return file;
}

if (require.main === module) console.log(`wrote ${path.relative(process.cwd(), writeReport())}`);
