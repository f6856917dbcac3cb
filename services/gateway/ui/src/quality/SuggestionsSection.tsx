// AI suggestions (GET .../suggestions): each with why it was made; a rule can be tried first
// (Dry run: how many rows it would fail, nothing stored), then accepted or dismissed. Analyze
// (POST .../analyze, a job) asks for new ones. Operators analyse and dry-run; admins decide.
import { useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Link } from "react-router";
import { count } from "../api/format";
import { type Column, DataTable } from "../components/DataTable";
import { Empty, ErrorBox, QueryState } from "../components/States";
import {
  type AnalysedColumn,
  type DryRun,
  type DryRunBatch,
  type Job,
  type RuleAction,
  type Suggestion,
  useAccept,
  useAnalyze,
  useDismiss,
  useDryRun,
  useSuggestions,
} from "./api";
import { JobWatch, Verdict } from "./shared";

const STATUS_TONE: Record<string, string> = { open: "busy", accepted: "ok", dismissed: "idle" };

function describe(s: Suggestion): string {
  const p = s.payload;
  if (s.kind === "rename") return `Rename column ${String(p.column)} to ${String(p.to)}`;
  if (s.kind === "cast") return `Read column ${String(p.column)} as ${String(p.type)}`;
  if (s.kind === "key")
    return `Use ${Array.isArray(p.columns) ? p.columns.join(", ") : String(p.columns)} as the dataset's key`;
  if (s.kind === "descriptions") {
    const columns = p.columns && typeof p.columns === "object" ? Object.keys(p.columns).length : 0;
    return `Describe ${p.description ? "the dataset and " : ""}${columns} column(s) in the catalog`;
  }
  if (s.kind === "rule") {
    const extra = Object.entries(p)
      .filter(([k]) => !["name", "type", "column", "columns", "action", "description"].includes(k))
      .map(([k, v]) => `${k} ${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(", ");
    const on = p.column ? ` on ${String(p.column)}` : p.columns ? ` on ${JSON.stringify(p.columns)}` : "";
    return `Rule ${String(p.type)}${on}${extra ? ` (${extra})` : ""}`;
  }
  return `${s.kind} ${s.target}`;
}

const BATCHES: Column<DryRunBatch>[] = [
  {
    key: "run",
    header: "Batch (run)",
    render: (b) => (
      <Link to={`/runs/${encodeURIComponent(b.run_id)}`} className="mono">
        {b.run_id.slice(0, 12)}
      </Link>
    ),
  },
  { key: "status", header: "Would be", render: (b) => <Verdict value={b.status} /> },
  {
    key: "failed",
    header: "Failing rows",
    numeric: true,
    render: (b) => `${count(b.failed_rows)}${b.total_rows != null ? ` of ${count(b.total_rows)}` : ""}`,
  },
  {
    key: "examples",
    header: "Sample failing values",
    render: (b) => {
      const text = b.examples.join(", ");
      return (
        <span className="mono" title={text}>
          {text || "–"}
        </span>
      );
    },
  },
];

export function DryRunResult({ result, action }: { result: DryRun; action: RuleAction }) {
  const share = result.total_rows ? ` (${((result.failed_rows / result.total_rows) * 100).toFixed(1)} %)` : "";
  return (
    <div className="stack" role="status" aria-label="Dry run result">
      <p style={{ margin: 0 }}>
        <strong>
          {count(result.failed_rows)} of {count(result.total_rows)} rows would fail this rule{share}
        </strong>
        . With action <code>{action}</code>: {count(result.would_quarantine)} would be quarantined,{" "}
        {count(result.would_fail_batches)} of {result.batches.length} batch(es) would fail. Nothing
        was stored.
      </p>
      {result.batches.length > 0 && (
        <DataTable
          rows={result.batches}
          columns={BATCHES}
          rowKey={(b) => b.run_id}
          label="Dry run per batch"
          maxHeight={240}
        />
      )}
    </div>
  );
}

/** The texts a `descriptions` suggestion would put in the catalog, dataset first. */
function ProposedDescriptions({ payload }: { payload: Suggestion["payload"] }) {
  const columns =
    payload.columns && typeof payload.columns === "object" ? Object.entries(payload.columns as Record<string, unknown>) : [];
  return (
    <dl className="descriptions" aria-label="Proposed descriptions">
      {typeof payload.description === "string" && payload.description && (
        <>
          <dt>The dataset</dt>
          <dd>{payload.description}</dd>
        </>
      )}
      {columns.map(([column, text]) => (
        <div key={column}>
          <dt className="mono">{column}</dt>
          <dd>{String(text)}</dd>
        </div>
      ))}
    </dl>
  );
}

function SuggestionCard({
  dataset,
  suggestion: s,
  operator,
  admin,
}: {
  dataset: string;
  suggestion: Suggestion;
  operator: boolean;
  admin: boolean;
}) {
  const id = useId();
  const dryRun = useDryRun(dataset);
  const accept = useAccept(dataset);
  const dismiss = useDismiss(dataset);
  const suggested = s.payload.action;
  const [action, setAction] = useState<RuleAction>(
    suggested === "quarantine" || suggested === "fail" ? suggested : "warn",
  );
  const isRule = s.kind === "rule";
  const open = s.status === "open";
  const deciding = accept.isPending || dismiss.isPending;
  const accepted = accept.data;
  const acceptedDryRun =
    accepted?.dry_run && "failed_rows" in accepted.dry_run ? accepted.dry_run : null;
  return (
    <article className="panel stack" aria-labelledby={`${id}-h`}>
      <div className="spread">
        <h4 id={`${id}-h`} style={{ margin: 0 }}>
          {describe(s)}
        </h4>
        <span className="row" style={{ gap: "0.4rem" }}>
          <span className="badge idle" title="where the suggestion came from">
            {s.source}
          </span>
          <span className={`badge ${STATUS_TONE[s.status] ?? "idle"}`}>{s.status}</span>
        </span>
      </div>
      <p style={{ margin: 0 }}>
        <span className="muted">Why: </span>
        {s.reason || "no explanation given"}
      </p>
      {s.kind === "descriptions" && <ProposedDescriptions payload={s.payload} />}
      <details>
        <summary>As configuration</summary>
        <pre>{JSON.stringify(s.payload, null, 2)}</pre>
      </details>
      {open && (operator || admin) && (
        <div className="row">
          {isRule && (
            <label className="inline">
              Action
              <select value={action} onChange={(e) => setAction(e.target.value as RuleAction)}>
                <option value="warn">warn (only record)</option>
                <option value="quarantine">quarantine the row</option>
                <option value="fail">fail the batch</option>
              </select>
            </label>
          )}
          {isRule && operator && (
            <button type="button" disabled={dryRun.isPending} onClick={() => dryRun.mutate({ id: s.id, action })}>
              Dry run
            </button>
          )}
          {admin && (
            <>
              <button
                type="button"
                className="primary"
                disabled={deciding}
                onClick={() => accept.mutate({ id: s.id, action: isRule ? action : undefined })}
              >
                Accept
              </button>
              <button type="button" disabled={deciding} onClick={() => dismiss.mutate(s.id)}>
                Dismiss
              </button>
            </>
          )}
        </div>
      )}
      {dryRun.isPending && <p className="muted" role="status">Trying the rule on the Silver data…</p>}
      {dryRun.error && <ErrorBox error={dryRun.error} title="The dry run failed" />}
      {dryRun.data && <DryRunResult result={dryRun.data} action={dryRun.variables?.action ?? action} />}
      {accept.error && <ErrorBox error={accept.error} title="The suggestion was not accepted" />}
      {dismiss.error && <ErrorBox error={dismiss.error} title="The suggestion was not dismissed" />}
      {accepted && (
        <p className="state empty" role="status" style={{ margin: 0 }}>
          Accepted:{" "}
          {isRule
            ? "added to the rules"
            : s.kind === "key"
              ? "the dataset's key is set"
              : s.kind === "descriptions"
                ? "the descriptions are in the catalog"
                : "the Silver spec is updated"}
          ; it applies to the next batch.
          {acceptedDryRun &&
            ` On the data there is now it would have quarantined ${count(acceptedDryRun.failed_rows)} of ${count(acceptedDryRun.total_rows)} rows.`}
        </p>
      )}
      {dismiss.isSuccess && (
        <p className="state empty" role="status" style={{ margin: 0 }}>
          Dismissed.
        </p>
      )}
    </article>
  );
}

const COLUMNS: Column<AnalysedColumn>[] = [
  { key: "name", header: "Column", render: (c) => c.name },
  { key: "silver", header: "Silver name", render: (c) => c.silver_name ?? "–" },
  {
    key: "type",
    header: "Semantic type",
    render: (c) =>
      c.offline?.semantic_type
        ? `${c.offline.semantic_type}${c.offline.confidence != null ? ` (${Math.round(c.offline.confidence * 100)} %)` : ""}`
        : "–",
  },
  {
    key: "pii",
    header: "PII",
    render: (c) => (c.offline?.pii ? <span className="badge pii">{c.offline.pii_kind ?? "PII"}</span> : "no"),
  },
  {
    key: "llm",
    header: "LLM description",
    render: (c) => <span title={c.llm?.description}>{c.llm?.description ?? "–"}</span>,
  },
];

export function SuggestionsSection({ dataset, operator, admin }: { dataset: string; operator: boolean; admin: boolean }) {
  const client = useQueryClient();
  const suggestions = useSuggestions(dataset);
  const analyze = useAnalyze(dataset);
  const [refresh, setRefresh] = useState(false);
  const [job, setJob] = useState<Job | null>(null);
  return (
    <div className="stack">
      {operator && (
        <div className="row">
          <button
            type="button"
            disabled={analyze.isPending}
            onClick={() => {
              setJob(null);
              analyze.mutate(refresh, { onSuccess: setJob });
            }}
          >
            Analyze
          </button>
          <label className="inline">
            <input type="checkbox" checked={refresh} onChange={(e) => setRefresh(e.target.checked)} />
            Ask the LLM again (not its cached answer)
          </label>
        </div>
      )}
      {analyze.error && <ErrorBox error={analyze.error} title="The analysis did not start" />}
      {job && (
        <JobWatch
          key={job.id}
          job={job}
          what="Analysis"
          onDone={() => void client.invalidateQueries({ queryKey: ["quality", dataset, "suggestions"] })}
        />
      )}
      <QueryState query={suggestions} what="Loading suggestions">
        {(data) => {
          const open = data.suggestions.filter((s) => s.status === "open");
          const decided = data.suggestions.filter((s) => s.status !== "open");
          return (
            <>
              {data.llm && (
                <p className="muted" style={{ margin: 0 }}>
                  LLM: {data.llm.source}
                  {data.llm.cached ? " (cached answer)" : ""} · {count(data.llm.calls)} call(s),{" "}
                  {count(data.llm.tokens_spent)} tokens spent on this dataset
                </p>
              )}
              <h3>
                Suggestions{" "}
                <span className="muted" style={{ fontWeight: "normal" }}>
                  ({open.length} open, {decided.length} decided)
                </span>
              </h3>
              {open.length === 0 && (
                <Empty>
                  No open suggestions.{" "}
                  {operator ? "Analyze the latest batch to get some." : "They appear after a batch is analysed."}
                </Empty>
              )}
              {/* One list (open first), so a card keeps its answer when its status changes. */}
              {[...open, ...decided].map((s) => (
                <SuggestionCard key={s.id} dataset={dataset} suggestion={s} operator={operator} admin={admin} />
              ))}
              {data.columns.length > 0 && (
                <details>
                  <summary>Columns as analysed ({data.columns.length})</summary>
                  <DataTable
                    rows={data.columns}
                    columns={COLUMNS}
                    rowKey={(c) => c.name}
                    label="Columns as analysed"
                    maxHeight={320}
                  />
                </details>
              )}
            </>
          );
        }}
      </QueryState>
    </div>
  );
}
