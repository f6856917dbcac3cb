// The LLM's cost: today's tokens and dollars against the daily budget, the last 30 UTC days
// (calls, answers from the prompt cache, failures, calls not made), and the latest calls with
// their outcome and reason. Calls GET /api/v1/ai/usage.
import { count, when } from "../api/format";
import { type Column, DataTable } from "../components/DataTable";
import { QueryState } from "../components/States";
import { type AiCall, type AiDay, useAiUsage } from "./api";

function dollars(n: number): string {
  return `$${n.toFixed(n < 1 ? 4 : 2)}`;
}

const OUTCOME_TONE: Record<AiCall["outcome"], string> = {
  ok: "ok",
  cached: "ok",
  pending: "",
  skipped: "warn",
  invalid: "bad",
  refused: "bad",
  error: "bad",
};

const DAY_COLUMNS: Column<AiDay>[] = [
  { key: "day", header: "Day (UTC)", render: (d) => d.day },
  { key: "calls", header: "Calls", numeric: true, render: (d) => count(d.calls) },
  { key: "cached", header: "From cache", numeric: true, render: (d) => count(d.cached) },
  { key: "failed", header: "Failed", numeric: true, render: (d) => count(d.failed) },
  { key: "skipped", header: "Not made", numeric: true, render: (d) => count(d.skipped) },
  { key: "tokens", header: "Tokens", numeric: true, render: (d) => count(d.input_tokens + d.output_tokens) },
  { key: "cost", header: "Cost", numeric: true, render: (d) => dollars(d.cost_usd) },
  { key: "purposes", header: "Purposes", render: (d) => Object.keys(d.purposes).join(", ") },
];

const CALL_COLUMNS: Column<AiCall>[] = [
  { key: "at", header: "When", width: "12rem", render: (c) => when(c.at) },
  { key: "purpose", header: "Purpose", render: (c) => c.purpose },
  { key: "dataset", header: "Dataset", render: (c) => c.dataset || "–" },
  { key: "model", header: "Model", render: (c) => <span className="mono">{`${c.provider}:${c.model}`}</span> },
  { key: "tokens", header: "Tokens in / out", numeric: true, render: (c) => `${count(c.input_tokens)} / ${count(c.output_tokens)}` },
  { key: "cost", header: "Cost", numeric: true, render: (c) => dollars(c.cost_usd) },
  {
    key: "outcome",
    header: "Outcome",
    render: (c) => (
      <span className={`badge ${OUTCOME_TONE[c.outcome]}`} title={c.reason || undefined}>
        {c.outcome}
      </span>
    ),
  },
  { key: "reason", header: "Reason", render: (c) => c.reason || "–" },
];

export function UsageTab() {
  const usage = useAiUsage();
  return (
    <QueryState query={usage} what="Loading the LLM's usage">
      {(u) => (
        <div className="stack">
          <section className="panel" aria-label="Today">
            <dl className="facts">
              <dt>Tokens today (UTC)</dt>
              <dd>
                {count(u.today.tokens)}
                {u.today.budget_tokens ? ` of ${count(u.today.budget_tokens)}` : " (no daily limit)"}
              </dd>
              <dt>Cost today</dt>
              <dd>
                {dollars(u.today.cost_usd)}
                {u.today.budget_cost_usd ? ` of ${dollars(u.today.budget_cost_usd)}` : " (no daily limit)"}
              </dd>
            </dl>
          </section>
          {u.days.length === 0 ? (
            <p className="muted">No LLM call yet: with no key, analyses are offline.</p>
          ) : (
            <>
              <DataTable rows={u.days} columns={DAY_COLUMNS} rowKey={(d) => d.day} label="LLM usage per day" />
              <DataTable rows={u.calls} columns={CALL_COLUMNS} rowKey={(c) => String(c.id)} label="Latest LLM calls" />
            </>
          )}
        </div>
      )}
    </QueryState>
  );
}
