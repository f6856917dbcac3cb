// The first page: how the last 24 h went (runs by status, rows landed), what needs a look
// (failing checks, stale datasets) and the latest alerts. Each part says when its owner did
// not answer instead of failing the page. Kept light: it is in the first bundle.
import { Link } from "react-router";
import { ago, count } from "../api/format";
import { Bars } from "../components/Bars";
import { Empty, QueryState } from "../components/States";
import { type DashboardData, useDashboard } from "./api";

function Unavailable({ part }: { part: { available: boolean; detail?: string | null } }) {
  if (part.available) return null;
  return (
    <p className="state error" role="note">
      Not available now{part.detail ? `: ${part.detail}` : ""}
    </p>
  );
}

function RunsPart({ runs }: { runs: DashboardData["runs"] }) {
  const statuses = [
    { label: "succeeded", value: runs.succeeded ?? 0, tone: "ok" as const },
    { label: "failed", value: runs.failed ?? 0, tone: "bad" as const },
    { label: "running", value: runs.running ?? 0, tone: "busy" as const },
    { label: "queued", value: runs.queued ?? 0, tone: "idle" as const },
  ];
  return (
    <>
      <div className="cards">
        {statuses.map((s) => (
          <Link
            key={s.label}
            className="card"
            to={`/runs?status=${s.label}`}
          >
            <div className="figure">{count(s.value)}</div>
            <div className="label">
              runs {s.label}{" "}
              <span className="sr-only">in the last 24 hours</span>
            </div>
          </Link>
        ))}
        <div className="card">
          <div className="figure">{count(runs.rows_landed)}</div>
          <div className="label">
            rows landed
            {runs.rows_rejected ? ` · ${count(runs.rows_rejected)} lines rejected` : ""}
          </div>
        </div>
      </div>
      <Unavailable part={runs} />
      <Bars bars={statuses} title="Runs of the last 24 hours by status" height={80} />
    </>
  );
}

function FailingPart({ part }: { part: DashboardData["failing_checks"] }) {
  return (
    <div className="panel">
      <h2>Failing checks</h2>
      <Unavailable part={part} />
      {part.available && (part.datasets ?? []).length === 0 && <Empty>Every dataset passes its checks.</Empty>}
      <ul>
        {(part.datasets ?? []).map((d) => (
          <li key={`${d.dataset}-${d.run_id}`}>
            <Link to={`/datasets/${encodeURIComponent(d.dataset)}?tab=quality`}>{d.dataset}</Link>:{" "}
            {d.rules.join(", ") || "failed"}{" "}
            <Link to={`/runs/${encodeURIComponent(d.run_id)}`} className="muted">
              {ago(d.at)}
            </Link>
          </li>
        ))}
      </ul>
    </div>
  );
}

function StalePart({ part }: { part: DashboardData["stale_datasets"] }) {
  return (
    <div className="panel">
      <h2>Stale datasets{part.count ? ` (${count(part.count)})` : ""}</h2>
      <Unavailable part={part} />
      <p className="muted">{part.rule}</p>
      {part.available && (part.datasets ?? []).length === 0 && <Empty>Every dataset is fresh.</Empty>}
      <ul>
        {(part.datasets ?? []).map((d) => (
          <li key={d.dataset}>
            <Link to={`/datasets/${encodeURIComponent(d.dataset)}`}>{d.dataset}</Link>:{" "}
            {d.last_success_at ? `last success ${ago(d.last_success_at)}` : "never succeeded"}
          </li>
        ))}
      </ul>
    </div>
  );
}

function AlertsPart({ part }: { part: DashboardData["alerts"] }) {
  return (
    <div className="panel">
      <h2>Recent alerts</h2>
      <Unavailable part={part} />
      {(part.unavailable ?? []).length > 0 && (
        <p className="muted">Missing from: {(part.unavailable ?? []).join(", ")}</p>
      )}
      {part.available && (part.alerts ?? []).length === 0 && <Empty>No failures lately.</Empty>}
      <ul>
        {(part.alerts ?? []).map((a, i) => {
          const target = a.workflow
            ? `/workflows/${encodeURIComponent(a.workflow)}`
            : a.run_id
              ? `/runs/${encodeURIComponent(a.run_id)}`
              : null;
          return (
            <li key={`${a.at}-${i}`}>
              <span className="muted">{ago(a.at)}</span>{" "}
              {target ? <Link to={target}>{a.text}</Link> : a.text}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

export function Dashboard() {
  const dashboard = useDashboard();
  return (
    <section>
      <h1>Dashboard</h1>
      <QueryState query={dashboard} what="Loading the dashboard">
        {(d) => (
          <div className="stack">
            <p className="muted">Last 24 hours · updated {ago(d.generated_at)}</p>
            <RunsPart runs={d.runs} />
            <div className="columns">
              <FailingPart part={d.failing_checks} />
              <StalePart part={d.stale_datasets} />
              <AlertsPart part={d.alerts} />
            </div>
          </div>
        )}
      </QueryState>
    </section>
  );
}
