// The latest verdict with its checks, and the trend of evaluations (GET .../quality).
import { Link } from "react-router";
import { ago, count, when } from "../api/format";
import { type Bar, Bars } from "../components/Bars";
import { type Column, DataTable } from "../components/DataTable";
import { QueryState } from "../components/States";
import { type Check, type Evaluation, type Quality, useQuality } from "./api";
import { Verdict } from "./shared";

const TONE: Record<string, Bar["tone"]> = { passed: "ok", warned: "warn", failed: "bad" };

const CHECKS: Column<Check>[] = [
  { key: "name", header: "Check", render: (c) => <span className="mono">{c.name}</span> },
  { key: "type", header: "Type", render: (c) => c.rule_type },
  { key: "column", header: "Column", render: (c) => c.column ?? "–" },
  { key: "action", header: "Action", render: (c) => c.action ?? "–" },
  { key: "status", header: "Status", render: (c) => <Verdict value={c.status} /> },
  {
    key: "failed",
    header: "Failing rows",
    numeric: true,
    render: (c) => `${count(c.failed_rows)}${c.total_rows != null ? ` of ${count(c.total_rows)}` : ""}`,
  },
  { key: "detail", header: "Detail", render: (c) => <span title={c.detail}>{c.detail}</span> },
  {
    key: "examples",
    header: "Examples",
    render: (c) => {
      const text = (c.examples ?? []).join(", ");
      return <span title={text}>{text || "–"}</span>;
    },
  },
];

const runLink = (runId: string) => (
  <Link to={`/runs/${encodeURIComponent(runId)}`} className="mono">
    {runId.slice(0, 14)}
  </Link>
);

const TREND: Column<Evaluation>[] = [
  { key: "when", header: "Evaluated", render: (e) => <span title={when(e.evaluated_at)}>{ago(e.evaluated_at)}</span> },
  { key: "run", header: "Run", render: (e) => runLink(e.run_id) },
  { key: "rev", header: "Revision", numeric: true, render: (e) => e.revision },
  { key: "trigger", header: "Trigger", render: (e) => e.trigger },
  { key: "verdict", header: "Verdict", render: (e) => <Verdict value={e.verdict} /> },
  { key: "rows", header: "Rows", numeric: true, render: (e) => count(e.rows) },
  { key: "quarantined", header: "Quarantined", numeric: true, render: (e) => count(e.quarantined) },
  {
    key: "rules",
    header: "Failing rows by rule",
    render: (e) => {
      const text = Object.entries(e.failed_by_rule ?? {})
        .filter(([, n]) => n > 0)
        .map(([rule, n]) => `${rule}: ${count(n)}`)
        .join(", ");
      return <span title={text}>{text || "none"}</span>;
    },
  },
];

function barLabel(e: Evaluation) {
  return `${e.run_id.slice(0, 8)} r${e.revision} (${e.verdict})`;
}

function Latest({ latest }: { latest: Evaluation }) {
  const checks = latest.checks ?? [];
  const failing = checks.filter((c) => c.status !== "passed").length;
  return (
    <>
      <div className="cards">
        <div className="card">
          <div className="label">Latest verdict</div>
          <div className="figure">
            <Verdict value={latest.verdict} />
          </div>
          <div className="muted">
            {runLink(latest.run_id)} · revision {latest.revision} · {latest.trigger}
          </div>
        </div>
        <div className="card">
          <div className="label">Rows checked</div>
          <div className="figure">{count(latest.rows)}</div>
          <div className="muted">{when(latest.evaluated_at)}</div>
        </div>
        <div className="card">
          <div className="label">Quarantined</div>
          <div className="figure">{count(latest.quarantined)}</div>
          <div className="muted">
            {latest.rows ? `${((latest.quarantined / latest.rows) * 100).toFixed(1)} % of rows` : "–"}
          </div>
        </div>
        <div className="card">
          <div className="label">Checks not passing</div>
          <div className="figure">
            {failing} of {checks.length}
          </div>
          <div className="muted">took {latest.seconds.toFixed(2)} s</div>
        </div>
      </div>
      {checks.length > 0 && (
        <DataTable
          rows={checks}
          columns={CHECKS}
          rowKey={(c) => c.name}
          label="Checks of the latest evaluation"
          maxHeight={360}
        />
      )}
    </>
  );
}

function Trend({ quality }: { quality: Quality }) {
  const oldestFirst = [...quality.trend].reverse();
  const valid: Bar[] = oldestFirst.map((e) => ({
    label: barLabel(e),
    value: e.rows ? Math.round(((e.rows - e.quarantined) / e.rows) * 1000) / 10 : 0,
    tone: TONE[e.verdict] ?? "idle",
  }));
  const failing: Bar[] = oldestFirst.map((e) => ({
    label: barLabel(e),
    value: e.quarantined,
    tone: TONE[e.verdict] ?? "idle",
  }));
  return (
    <>
      <h3>Trend (last {quality.trend.length} evaluations, oldest first)</h3>
      {quality.trend.length > 1 ? (
        <div className="columns">
          <Bars bars={valid} title="Valid rows per evaluation (%); colour is the verdict" />
          <Bars bars={failing} title="Quarantined rows per evaluation; colour is the verdict" />
        </div>
      ) : (
        <p className="muted">One evaluation so far: the charts show once there are two.</p>
      )}
      <DataTable
        rows={quality.trend}
        columns={TREND}
        rowKey={(e) => `${e.run_id}-${e.revision}`}
        label="Evaluations, newest first"
        maxHeight={360}
      />
    </>
  );
}

type Reconciliation = Quality["reconciliation"][number];
const RECONCILE: Column<Reconciliation>[] = [
  { key: "model", header: "Model", render: (r) => <Link to={`/models/${encodeURIComponent(r.model)}`}>{r.model}</Link> },
  { key: "name", header: "Check", render: (r) => r.name },
  { key: "status", header: "Status", render: (r) => <Verdict value={r.status} /> },
  { key: "expected", header: "Expected", numeric: true, render: (r) => r.expected ?? "–" },
  { key: "actual", header: "Actual", numeric: true, render: (r) => r.actual ?? "–" },
  { key: "detail", header: "Detail", render: (r) => <span title={r.detail}>{r.detail}</span> },
  { key: "when", header: "Checked", render: (r) => ago(r.checked_at) },
];

export function ResultsSection({ dataset }: { dataset: string }) {
  const quality = useQuality(dataset);
  return (
    <QueryState
      query={quality}
      what="Loading quality results"
      isEmpty={(q) => !q.latest && q.trend.length === 0}
      empty="No evaluations yet: quality checks each batch once it lands in Silver."
    >
      {(q) => (
        <div className="stack">
          {q.latest && <Latest latest={q.latest} />}
          {q.trend.length > 0 && <Trend quality={q} />}
          {q.reconciliation.length > 0 && (
            <>
              <h3>Reconciliation with Gold</h3>
              <DataTable
                rows={q.reconciliation}
                columns={RECONCILE}
                rowKey={(r) => `${r.run_id}-${r.revision}-${r.model}-${r.name}`}
                label="Reconciliation checks"
                maxHeight={300}
              />
            </>
          )}
        </div>
      )}
    </QueryState>
  );
}
