import { useCallback } from "react";
import { Link, useSearchParams } from "react-router";
import { ago, count, duration } from "../api/format";
import { type Column, DataTable } from "../components/DataTable";
import { Status } from "../components/Status";
import { QueryState } from "../components/States";
import { type Run, type RunStatus, useRuns } from "./api";

const STATUSES: RunStatus[] = ["queued", "running", "succeeded", "failed"];

const COLUMNS: Column<Run>[] = [
  {
    key: "run",
    header: "Run",
    width: "14rem",
    render: (r) => (
      <Link to={`/runs/${encodeURIComponent(r.run_id)}`} className="mono">
        {r.run_id.slice(0, 18)}
      </Link>
    ),
  },
  {
    key: "dataset",
    header: "Dataset",
    render: (r) => <Link to={`/datasets/${encodeURIComponent(r.dataset)}`}>{r.dataset}</Link>,
  },
  { key: "file", header: "File", render: (r) => r.filename },
  { key: "status", header: "Status", render: (r) => <Status value={r.status} /> },
  { key: "rows", header: "Valid rows", numeric: true, render: (r) => count(r.counts.valid) },
  { key: "took", header: "Took", numeric: true, render: (r) => duration(r.created_at, r.updated_at) },
  { key: "when", header: "Started", render: (r) => ago(r.created_at) },
];

export default function RunsPage() {
  const [params, setParams] = useSearchParams();
  const dataset = params.get("dataset") ?? "";
  const status = (params.get("status") ?? "") as RunStatus | "";
  const runs = useRuns({ dataset: dataset || undefined, status: status || undefined });
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = runs;
  const more = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);
  return (
    <section>
      <h1>Runs</h1>
      <form className="row" role="search" onSubmit={(e) => e.preventDefault()}>
        <label className="inline">
          Dataset
          <input value={dataset} onChange={(e) => set("dataset", e.target.value)} placeholder="any" />
        </label>
        <label className="inline">
          Status
          <select value={status} onChange={(e) => set("status", e.target.value)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </form>
      <h2 className="muted" style={{ fontSize: "0.9rem" }}>
        Newest first
      </h2>
      <QueryState
        query={runs}
        what="Loading runs"
        isEmpty={(d) => d.pages[0].runs.length === 0}
        empty={
          <>
            No runs{dataset || status ? " match these filters" : " yet"}.{" "}
            <Link to="/upload">Upload a file</Link> to start one.
          </>
        }
      >
        {(data) => {
          const rows = data.pages.flatMap((p) => p.runs);
          return (
            <DataTable
              rows={rows}
              columns={COLUMNS}
              rowKey={(r) => r.run_id}
              label="Runs"
              onEndReached={more}
              footer={
                <p className="muted" style={{ padding: "0 0.6rem" }}>
                  {count(rows.length)} runs shown{hasNextPage ? " (scroll for more)" : ""}
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
