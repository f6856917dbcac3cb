// One workflow: how it starts, its steps as a graph (and as a list), Run now / Backfill /
// Pause / Resume (operators), its definition (admins edit and delete), its runs (paged) with
// the steps of the chosen one and Cancel while it is queued or running.
// Calls GET/PUT/DELETE /api/v1/workflows/{name}, POST .../runs, .../backfill, .../pause,
// .../resume, GET .../runs, GET .../runs/{run_id}, POST .../runs/{run_id}/cancel.
import { type FormEvent, useCallback, useMemo, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { ago, count, duration, when } from "../api/format";
import { can, useMe } from "../auth/session";
import { type Column, DataTable } from "../components/DataTable";
import { Status } from "../components/Status";
import { Empty, ErrorBox, QueryState } from "../components/States";
import {
  RUN_STATUSES,
  type RunStatus,
  stepsOf,
  type StepRun,
  triggerText,
  useBackfill,
  useCancelRun,
  useDeleteWorkflow,
  usePause,
  useRunNow,
  useWorkflow,
  useWorkflowRun,
  useWorkflowRuns,
  type Workflow,
  type WorkflowRun,
} from "./api";
import { DefinitionEditor } from "./DefinitionEditor";
import WorkflowGraph from "./WorkflowGraph";

function seconds(s: number | null | undefined): string {
  if (s == null) return "–";
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function interval(r: WorkflowRun): string {
  if (!r.logical_start && !r.logical_end) return "–";
  return `${when(r.logical_start)} → ${when(r.logical_end)}`;
}

function stepSummary(steps: StepRun[]): string {
  if (!steps.length) return "–";
  const by = new Map<string, number>();
  for (const s of steps) by.set(s.status, (by.get(s.status) ?? 0) + 1);
  return [...by.entries()].map(([status, n]) => `${n} ${status}`).join(" · ");
}

/** A step's place in the definition (unknown steps last). */
function rank(order: string[], step: string): number {
  const i = order.indexOf(step);
  return i < 0 ? order.length : i;
}

/** datetime-local text (the browser's time) as ISO 8601 UTC. */
function toIso(local: string): string {
  return new Date(local).toISOString();
}

function Facts({ w }: { w: Workflow }) {
  const d = w.definition;
  const notify = (d.notify as { webhook?: string; on?: string[] }[] | undefined) ?? [];
  return (
    <dl className="facts">
      <dt>Starts</dt>
      <dd>{triggerText(d)}</dd>
      <dt>State</dt>
      <dd>
        <Status value={w.paused ? "paused" : "active"} />
      </dd>
      <dt>Next tick</dt>
      <dd>{w.paused ? "none while paused" : when(w.next_tick)}</dd>
      <dt>Last tick</dt>
      <dd>{when(w.last_tick)}</dd>
      <dt>Catch-up</dt>
      <dd>{String(d.catchup ?? "latest")}</dd>
      <dt>At once</dt>
      <dd>
        {String(d.max_active_runs ?? 1)} run(s); more {d.on_limit === "skip" ? "are skipped" : "wait"}
      </dd>
      {d.sla != null && (
        <>
          <dt>SLA</dt>
          <dd>{String(d.sla)}</dd>
        </>
      )}
      <dt>Alerts</dt>
      <dd>
        {notify.length
          ? notify.map((n) => `${n.webhook ?? "webhook"} on ${(n.on ?? ["failure"]).join(", ")}`).join("; ")
          : "none"}
      </dd>
      <dt>Defined by</dt>
      <dd className="mono">{w.origin}</dd>
      <dt>Changed</dt>
      <dd>{when(w.updated_at)}</dd>
    </dl>
  );
}

function Actions({ w }: { w: Workflow }) {
  const [, setParams] = useSearchParams();
  const runNow = useRunNow(w.name);
  const pause = usePause(w.name);
  const backfill = useBackfill(w.name);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [rangeError, setRangeError] = useState("");
  const choose = (id: string) =>
    setParams(
      (old) => {
        const next = new URLSearchParams(old);
        next.set("run", id);
        return next;
      },
      { replace: true },
    );
  const submitBackfill = (e: FormEvent) => {
    e.preventDefault();
    if (!from || !to || new Date(from) >= new Date(to)) {
      setRangeError("Give a start before the end.");
      return;
    }
    setRangeError("");
    backfill.mutate({ start: toIso(from), end: toIso(to) });
  };
  return (
    <div className="panel stack">
      <div className="row">
        <button
          type="button"
          className="primary"
          disabled={runNow.isPending}
          onClick={() => runNow.mutate(undefined, { onSuccess: (run) => choose(run.id) })}
        >
          Run now
        </button>
        {w.paused ? (
          <button type="button" disabled={pause.isPending} onClick={() => pause.mutate(false)}>
            Resume
          </button>
        ) : (
          <button type="button" disabled={pause.isPending} onClick={() => pause.mutate(true)}>
            Pause
          </button>
        )}
      </div>
      <div aria-live="polite">
        {runNow.data && (
          <p role="status">
            Run <span className="mono">{runNow.data.id.slice(0, 12)}</span> {runNow.data.status}.
          </p>
        )}
        {pause.isSuccess && <p role="status">{w.paused ? "Paused: no scheduled ticks." : "Resumed."}</p>}
      </div>
      {runNow.error && <ErrorBox error={runNow.error} title="The run did not start" />}
      {pause.error && <ErrorBox error={pause.error} title="Not changed" />}
      <form className="row" onSubmit={submitBackfill} style={{ alignItems: "flex-end" }} aria-label="Backfill">
        <label>
          From (your time)
          <input type="datetime-local" required value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To
          <input type="datetime-local" required value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <button type="submit" disabled={backfill.isPending}>
          Backfill
        </button>
      </form>
      <p className="muted" style={{ margin: 0 }}>
        A backfill runs once per interval of the schedule ending after “From” and at or before “To”.
      </p>
      {rangeError && (
        <p className="state error" role="alert">
          {rangeError}
        </p>
      )}
      {backfill.error && <ErrorBox error={backfill.error} title="The backfill was refused" />}
      {backfill.data && (
        <p role="status">
          Backfill: {count(backfill.data.runs)} run(s) queued
          {backfill.data.intervals.length
            ? `, ${when(backfill.data.intervals[0].start)} → ${when(backfill.data.intervals[backfill.data.intervals.length - 1].end)}`
            : ""}
          .
        </p>
      )}
    </div>
  );
}

function RunDetail({ name, runId, order }: { name: string; runId: string; order: string[] }) {
  const me = useMe();
  const run = useWorkflowRun(name, runId);
  const cancel = useCancelRun(name);
  const STEP_COLUMNS: Column<StepRun>[] = [
    { key: "name", header: "Step", render: (s) => s.name },
    { key: "status", header: "State", render: (s) => <Status value={s.status} /> },
    { key: "attempts", header: "Attempts", numeric: true, render: (s) => count(s.attempts) },
    { key: "started", header: "Started", render: (s) => when(s.started_at) },
    { key: "took", header: "Took", numeric: true, render: (s) => duration(s.started_at, s.finished_at) },
    {
      key: "runs",
      header: "Pipeline runs",
      render: (s) =>
        s.pipeline_runs.length ? (
          <span className="row" style={{ gap: "0.4rem", flexWrap: "nowrap" }}>
            {s.pipeline_runs.map((id) => (
              <Link key={id} to={`/runs/${encodeURIComponent(id)}`} className="mono">
                {id.slice(0, 14)}
              </Link>
            ))}
          </span>
        ) : (
          <span className="muted">–</span>
        ),
    },
    {
      key: "error",
      header: "Error",
      render: (s) =>
        s.error ? <span title={s.error}>{s.error}</span> : s.retry_at ? `retry ${when(s.retry_at)}` : "",
    },
  ];
  return (
    <section aria-labelledby="run-title" className="panel stack">
      <QueryState query={run} what="Loading the run">
        {(r) => (
          <>
            <div className="spread">
              <h3 id="run-title" style={{ margin: 0 }}>
                Run <span className="mono">{r.id.slice(0, 12)}</span> <Status value={r.status} />
              </h3>
              {can(me.data, "operator") && (r.status === "queued" || r.status === "running") && (
                <button
                  type="button"
                  className="danger"
                  disabled={cancel.isPending}
                  onClick={() => cancel.mutate(r.id)}
                >
                  Cancel
                </button>
              )}
            </div>
            {cancel.error && <ErrorBox error={cancel.error} title="Not cancelled" />}
            <dl className="facts">
              <dt>Trigger</dt>
              <dd>{r.trigger}</dd>
              <dt>Interval</dt>
              <dd>{interval(r)}</dd>
              <dt>Created</dt>
              <dd>{when(r.created_at)}</dd>
              <dt>Took</dt>
              <dd>{seconds(r.seconds)}</dd>
              {r.reason && (
                <>
                  <dt>Why</dt>
                  <dd>{r.reason}</dd>
                </>
              )}
              {Object.keys(r.params ?? {}).length > 0 && (
                <>
                  <dt>Parameters</dt>
                  <dd className="mono">{JSON.stringify(r.params)}</dd>
                </>
              )}
            </dl>
            {r.steps?.length ? (
              <DataTable
                rows={[...r.steps].sort((a, b) => rank(order, a.name) - rank(order, b.name))}
                columns={STEP_COLUMNS}
                rowKey={(s) => s.name}
                label={`Steps of run ${r.id.slice(0, 12)}`}
                maxHeight={360}
              />
            ) : (
              <Empty>No steps started yet.</Empty>
            )}
            {r.notifications?.length ? (
              <>
                <h4>Alerts sent</h4>
                <ul>
                  {r.notifications.map((n, i) => (
                    <li key={i} className="mono">
                      {Object.entries(n)
                        .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
                        .join(" · ")}
                    </li>
                  ))}
                </ul>
              </>
            ) : null}
          </>
        )}
      </QueryState>
    </section>
  );
}

function Runs({ name, selected, onSelect }: { name: string; selected?: string; onSelect: (id: string) => void }) {
  const [status, setStatus] = useState<RunStatus | "">("");
  const runs = useWorkflowRuns(name, status || undefined);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = runs;
  const more = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);
  const columns: Column<WorkflowRun>[] = [
    {
      key: "run",
      header: "Run",
      width: "9rem",
      render: (r) => (
        <button
          type="button"
          className="mono"
          aria-pressed={r.id === selected}
          aria-label={`Show run ${r.id.slice(0, 12)}`}
          onClick={() => onSelect(r.id)}
        >
          {r.id.slice(0, 12)}
        </button>
      ),
    },
    { key: "status", header: "Status", render: (r) => <Status value={r.status} /> },
    { key: "trigger", header: "Trigger", render: (r) => r.trigger },
    { key: "interval", header: "Interval", render: (r) => interval(r) },
    { key: "when", header: "Created", render: (r) => ago(r.created_at) },
    { key: "took", header: "Took", numeric: true, render: (r) => seconds(r.seconds) },
    { key: "steps", header: "Steps", render: (r) => stepSummary(r.steps ?? []) },
  ];
  return (
    <section aria-labelledby="runs-title" className="stack">
      <div className="spread">
        <h2 id="runs-title">Runs</h2>
        <label className="inline">
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value as RunStatus | "")}>
            <option value="">any</option>
            {RUN_STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </div>
      <QueryState
        query={runs}
        what="Loading runs"
        isEmpty={(d) => d.pages[0].runs.length === 0}
        empty={<>No runs{status ? ` ${status}` : " yet"}.</>}
      >
        {(data) => {
          const rows = data.pages.flatMap((p) => p.runs);
          return (
            <DataTable
              rows={rows}
              columns={columns}
              rowKey={(r) => r.id}
              label="Runs of the workflow"
              rowHeight={40}
              maxHeight={420}
              onEndReached={more}
              footer={
                <p className="muted" style={{ padding: "0 0.6rem" }}>
                  {count(rows.length)} runs shown, newest first{hasNextPage ? " (scroll for more)" : ""}
                  {isFetchingNextPage ? " · loading more…" : ""}
                </p>
              }
            />
          );
        }}
      </QueryState>
    </section>
  );
}

function Steps({ w, states }: { w: Workflow; states: Record<string, string> }) {
  const steps = useMemo(() => stepsOf(w.definition), [w.definition]);
  return (
    <section aria-labelledby="steps-title" className="stack">
      <h2 id="steps-title">Steps</h2>
      <div className="columns">
        <WorkflowGraph steps={steps} states={states} />
        <ol aria-label="Steps in order" className="stack" style={{ margin: 0 }}>
          {steps.map((s) => (
            <li key={s.name}>
              <strong>{s.name}</strong>{" "}
              {states[s.name] && <Status value={states[s.name]} />}
              <div className="muted">
                {s.kind}: <span className="mono">{s.target}</span>
                {s.needs.length ? ` · after ${s.needs.join(", ")}` : " · first"}
                {s.retries ? ` · ${s.retries} retries` : ""}
                {s.timeout ? ` · timeout ${s.timeout}` : ""}
              </div>
            </li>
          ))}
        </ol>
      </div>
    </section>
  );
}

function Admin({ w }: { w: Workflow }) {
  const navigate = useNavigate();
  const remove = useDeleteWorkflow(w.name);
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const fromFile = w.origin !== "api";
  return (
    <section aria-labelledby="definition-title" className="stack">
      <h2 id="definition-title">Definition</h2>
      <div className="row">
        <button type="button" aria-expanded={editing} onClick={() => setEditing(!editing)} disabled={fromFile}>
          {editing ? "Close the editor" : "Edit definition"}
        </button>
        {!confirming && (
          <button type="button" className="danger" onClick={() => setConfirming(true)} disabled={fromFile}>
            Delete workflow
          </button>
        )}
        {fromFile && <span className="muted">Defined by a file ({w.origin}): change or remove the file.</span>}
      </div>
      {confirming && (
        <div className="state error" role="alertdialog" aria-labelledby="delete-wf-q">
          <strong id="delete-wf-q">Delete {w.name}? Its queued runs are cancelled.</strong>
          <div className="row" style={{ marginTop: "0.5rem" }}>
            <button
              type="button"
              className="danger"
              autoFocus
              disabled={remove.isPending}
              onClick={() => remove.mutate(undefined, { onSuccess: () => navigate("/workflows") })}
            >
              Yes, delete {w.name}
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </div>
        </div>
      )}
      {remove.error && <ErrorBox error={remove.error} title="Not deleted" />}
      {editing && (
        <DefinitionEditor
          name={w.name}
          initial={w.definition}
          note="Webhook URLs are shown cut short (their path is often their secret): give them whole again before saving."
          onSaved={() => setEditing(false)}
        />
      )}
      {!editing && (
        <details>
          <summary>Show the definition (JSON)</summary>
          <pre>{JSON.stringify(w.definition, null, 2)}</pre>
        </details>
      )}
    </section>
  );
}

export default function WorkflowPage() {
  const { name = "" } = useParams();
  const me = useMe();
  const [params, setParams] = useSearchParams();
  const selected = params.get("run") ?? undefined;
  const workflow = useWorkflow(name);
  const chosenRun = useWorkflowRun(name, selected);
  const select = (id: string) => {
    const next = new URLSearchParams(params);
    next.set("run", id);
    setParams(next, { replace: true });
  };
  return (
    <section className="stack">
      <p>
        <Link to="/workflows">
          <span aria-hidden="true">← </span>Back to the list
        </Link>
      </p>
      <h1>
        Workflow <span className="mono">{name}</span>
      </h1>
      <QueryState query={workflow} what="Loading the workflow">
        {(w) => {
          const shown = chosenRun.data ?? w.last_run ?? undefined;
          const states: Record<string, string> = {};
          for (const s of shown?.steps ?? []) states[s.name] = s.status;
          return (
            <>
              {typeof w.definition.description === "string" && w.definition.description && (
                <p>{w.definition.description}</p>
              )}
              <div className="columns">
                <div className="panel">
                  <Facts w={w} />
                </div>
                {can(me.data, "operator") ? (
                  <Actions w={w} />
                ) : (
                  <Empty>Operators run, backfill, pause and resume workflows.</Empty>
                )}
              </div>
              <Steps w={w} states={states} />
              {shown && (
                <p className="muted">
                  Step states of run <span className="mono">{shown.id.slice(0, 12)}</span> (
                  {shown.id === selected ? "chosen" : "the last"}).
                </p>
              )}
              <Runs name={w.name} selected={selected} onSelect={select} />
              {selected && (
                <RunDetail name={w.name} runId={selected} order={stepsOf(w.definition).map((s) => s.name)} />
              )}
              {can(me.data, "admin") && <Admin w={w} />}
            </>
          );
        }}
      </QueryState>
    </section>
  );
}
