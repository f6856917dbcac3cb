// One run: its stages as a timeline, the row equation, rejected lines, errors, and the event
// log (live while the run works: the stream refreshes ["run", id] and ["run-events", id]).
import { useState } from "react";
import { Link, useParams } from "react-router";
import type { Schemas } from "../api/client";
import { ago, bytes, count, duration, when } from "../api/format";
import { type Column, DataTable } from "../components/DataTable";
import { Status } from "../components/Status";
import { Empty, ErrorBox, QueryState } from "../components/States";
import { type Run, rowEquation, useRejected, useRun } from "./api";
import { EventLog } from "./EventLog";

type Rejected = Schemas["RejectedRow"];
const REJECTED: Column<Rejected>[] = [
  { key: "line", header: "Line", width: "6rem", numeric: true, render: (r) => count(r.line) },
  { key: "reason", header: "Reason", render: (r) => r.reason },
  { key: "raw", header: "Raw text", render: (r) => <code>{r.raw}</code> },
];

function Progress({ progress }: { progress: NonNullable<Run["progress"]> }) {
  const done = Number(progress.done ?? 0);
  const total = progress.total == null ? null : Number(progress.total);
  const unit = String(progress.unit ?? "");
  const label =
    unit === "bytes"
      ? `${bytes(done)}${total ? ` of ${bytes(total)}` : ""}`
      : `${count(done)}${total ? ` of ${count(total)}` : ""} ${unit}`;
  const share = total ? Math.min(100, (done / total) * 100) : null;
  return (
    <div className="panel">
      <div className="spread">
        <strong>{String(progress.stage ?? "working")}</strong>
        <span>{label}</span>
      </div>
      {share != null && (
        <div
          className="progress"
          role="progressbar"
          aria-label="Run progress"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(share)}
        >
          <div style={{ width: `${share}%` }} />
        </div>
      )}
    </div>
  );
}

function Timeline({ run }: { run: Run }) {
  return (
    <ol className="timeline" aria-label="Stages">
      {run.stages.map((s) => (
        <li key={s.name}>
          <div className="spread">
            <strong>{s.name}</strong>
            <Status value={s.status} />
          </div>
          <div className="muted">
            {s.started_at ? when(s.started_at) : "not started"}
            {s.finished_at ? ` · ${duration(s.started_at, s.finished_at)}` : ""}
          </div>
          {s.error && <div className="state error">{s.error}</div>}
        </li>
      ))}
    </ol>
  );
}

export function Equation({ counts }: { counts: Schemas["RunCounts"] }) {
  return (
    <div className="equation" aria-label="Row equation">
      {rowEquation(counts).map((line) => (
        <div key={line.left} className={line.known ? (line.holds ? "holds" : "broken") : "muted"}>
          {line.left} {count(line.value)} = {line.parts.map(([n, v]) => `${n} ${count(v)}`).join(" + ")}{" "}
          {line.known ? (line.holds ? "✓" : "✗ does not add up") : "(not yet known)"}
        </div>
      ))}
      {counts.deleted != null && <div>deleted since the last snapshot: {count(counts.deleted)}</div>}
    </div>
  );
}

function Checks({ checks = [] }: { checks: Run["checks"] }) {
  if (!checks.length) return <Empty>No quality checks ran for this run.</Empty>;
  return (
    <div className="table-scroll" role="region" aria-label="Quality checks" tabIndex={0}>
    <table className="grid">
      <thead>
        <tr>
          <th>Check</th>
          <th>Result</th>
          <th className="num">Failing rows</th>
          <th>Detail</th>
        </tr>
      </thead>
      <tbody>
        {checks.map((c, i) => {
          const check = c as Record<string, unknown>;
          const name = String(check.name ?? check.rule ?? `check ${i + 1}`);
          const passed = check.passed ?? check.status;
          const result = typeof passed === "boolean" ? (passed ? "passed" : "failed") : String(passed ?? "–");
          return (
            <tr key={`${name}-${i}`}>
              <td>{name}</td>
              <td>
                <Status value={result} />
              </td>
              <td className="num">{count((check.failing_rows ?? check.failed ?? null) as number | null)}</td>
              <td>{String(check.message ?? check.detail ?? check.severity ?? "")}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
    </div>
  );
}

export default function RunPage() {
  const { runId = "" } = useParams();
  const run = useRun(runId);
  const [showRejected, setShowRejected] = useState(true);
  const rejectedCount = run.data?.counts.rejected ?? 0;
  const rejected = useRejected(runId, showRejected && rejectedCount > 0);
  return (
    <QueryState query={run} what="Loading the run">
      {(r) => (
        <section className="stack">
          <div className="spread">
            <h1>
              Run <span className="mono">{r.run_id}</span>
            </h1>
            <Status value={r.status} />
          </div>
          <dl className="facts">
            <dt>Dataset</dt>
            <dd>
              <Link to={`/datasets/${encodeURIComponent(r.dataset)}`}>{r.dataset}</Link>
            </dd>
            <dt>File</dt>
            <dd>{r.filename}</dd>
            <dt>Started</dt>
            <dd>
              {when(r.created_at)} ({ago(r.created_at)})
            </dd>
            <dt>Last change</dt>
            <dd>{when(r.updated_at)}</dd>
            {r.verdict && (
              <>
                <dt>Quality verdict</dt>
                <dd>
                  <Status value={r.verdict} />
                </dd>
              </>
            )}
            {r.reading && (
              <>
                <dt>Read as</dt>
                <dd>
                  {r.reading.format}
                  {r.reading.encoding ? `, ${r.reading.encoding}` : ""}
                  {r.reading.encoding_source ? ` (${r.reading.encoding_source})` : ""}
                  {r.reading.delimiter ? `, delimiter ${JSON.stringify(r.reading.delimiter)}` : ""}
                </dd>
              </>
            )}
          </dl>
          {r.error && <ErrorBox error={new Error(r.error)} title="The run failed" />}
          {(r.warnings ?? []).map((w) => (
            <div key={w} className="state" style={{ background: "var(--warn-bg)" }} role="note">
              {w}
            </div>
          ))}
          {r.progress && <Progress progress={r.progress} />}
          <h2>Stages</h2>
          <Timeline run={r} />
          <h2>Rows</h2>
          <Equation counts={r.counts} />
          <h2>Quality checks</h2>
          <Checks checks={r.checks} />
          <h2>Rejected lines ({count(rejectedCount)})</h2>
          {rejectedCount === 0 ? (
            <Empty>No line of this file was rejected.</Empty>
          ) : (
            <>
              <label className="inline">
                <input
                  type="checkbox"
                  checked={showRejected}
                  onChange={(e) => setShowRejected(e.target.checked)}
                />
                Show rejected lines
              </label>
              {showRejected && (
                <QueryState query={rejected} what="Loading rejected lines">
                  {(data) => (
                    <DataTable
                      rows={data.rows}
                      columns={REJECTED}
                      rowKey={(row, i) => `${row.line}-${i}`}
                      label="Rejected lines"
                      maxHeight={320}
                    />
                  )}
                </QueryState>
              )}
            </>
          )}
          <h2>Event log</h2>
          <EventLog runId={r.run_id} />
        </section>
      )}
    </QueryState>
  );
}
