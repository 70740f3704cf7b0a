// Stored size over time: what a restore of each snapshot reads, oldest to newest,
// as a small line chart in the design system's chart colours (tokens, so light
// and dark follow Bitbucket), with the same numbers as a table for screen readers
// and anyone who wants them exactly.
import { token } from '@atlaskit/tokens';
import type { SnapshotSummary } from './api.js';
import { absoluteTime, bytes } from './format.js';

const WIDTH = 640;
const HEIGHT = 120;
const PAD = { left: 8, right: 8, top: 12, bottom: 20 };

export function SizeChart({ snapshots }: { snapshots: SnapshotSummary[] }) {
  if (snapshots.length < 2) return null;
  const points = [...snapshots].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const times = points.map((snapshot) => Date.parse(snapshot.createdAt));
  const first = times[0]!;
  const span = Math.max(1, times.at(-1)! - first);
  const largest = Math.max(1, ...points.map((snapshot) => snapshot.bytes));
  const x = (time: number) => PAD.left + ((time - first) / span) * (WIDTH - PAD.left - PAD.right);
  const y = (size: number) => HEIGHT - PAD.bottom - (size / largest) * (HEIGHT - PAD.top - PAD.bottom);
  const line = points.map((snapshot, index) => `${x(times[index]!).toFixed(1)},${y(snapshot.bytes).toFixed(1)}`).join(' ');
  const summary = `Stored size of the ${points.length} snapshots shown, from ${bytes(points[0]!.bytes)} on ${absoluteTime(points[0]!.createdAt)} to ${bytes(points.at(-1)!.bytes)} on ${absoluteTime(points.at(-1)!.createdAt)}; the largest ${bytes(largest)}.`;
  return (
    <figure className="size-chart" aria-labelledby="size-chart-caption">
      <figcaption id="size-chart-caption">Stored size over time (what a restore of each snapshot reads)</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} width="100%" role="img" aria-label={summary}>
        <line x1={PAD.left} x2={WIDTH - PAD.right} y1={HEIGHT - PAD.bottom} y2={HEIGHT - PAD.bottom} stroke={token('color.border')} />
        <polyline points={line} fill="none" stroke={token('color.chart.brand')} strokeWidth={2} />
        {points.map((snapshot, index) => (
          <circle key={snapshot.id} cx={x(times[index]!)} cy={y(snapshot.bytes)} r={3} fill={token('color.chart.brand')} />
        ))}
        <text x={PAD.left} y={HEIGHT - 4} fontSize={11} fill={token('color.text.subtlest')}>{absoluteTime(points[0]!.createdAt)}</text>
        <text x={WIDTH - PAD.right} y={HEIGHT - 4} fontSize={11} textAnchor="end" fill={token('color.text.subtlest')}>{absoluteTime(points.at(-1)!.createdAt)}</text>
        <text x={PAD.left} y={PAD.top - 2} fontSize={11} fill={token('color.text.subtlest')}>{bytes(largest)}</text>
      </svg>
      <details>
        <summary>The sizes as a table</summary>
        <table className="refs">
          <thead><tr><th scope="col">Snapshot</th><th scope="col">Stored size</th><th scope="col">Added by it</th></tr></thead>
          <tbody>
            {points.map((snapshot) => <tr key={snapshot.id}><td><time dateTime={snapshot.createdAt}>{absoluteTime(snapshot.createdAt)}</time></td><td>{bytes(snapshot.bytes)}</td><td>{bytes(snapshot.ownBytes)}</td></tr>)}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
