// Datasets: every dataset with its layers' rows and its last run; a search box filters by
// name as you type (all pages are fetched as the list scrolls; 1,000 datasets stay fast).
import { useCallback, useMemo, useState } from "react";
import { Link } from "react-router";
import { ago, count } from "../api/format";
import { type Column, DataTable } from "../components/DataTable";
import { Status } from "../components/Status";
import { Empty, QueryState } from "../components/States";
import { type Dataset, useDatasets } from "./api";

const COLUMNS: Column<Dataset>[] = [
  {
    key: "name",
    header: "Dataset",
    render: (d) => <Link to={`/datasets/${encodeURIComponent(d.name)}`}>{d.name}</Link>,
  },
  { key: "silver", header: "Silver rows", numeric: true, render: (d) => count(d.layers.silver?.row_count) },
  { key: "bronze", header: "Bronze rows", numeric: true, render: (d) => count(d.layers.bronze?.row_count) },
  { key: "key", header: "Key", render: (d) => d.key.join(", ") || "–" },
  { key: "runs", header: "Runs", numeric: true, render: (d) => count(d.runs) },
  { key: "status", header: "Last run", render: (d) => (d.last_run ? <Status value={d.last_run.status} /> : "–") },
  { key: "verdict", header: "Quality", render: (d) => (d.last_run?.verdict ? <Status value={d.last_run.verdict} /> : "–") },
  { key: "when", header: "Updated", render: (d) => ago(d.last_run?.updated_at ?? d.layers.silver?.updated_at) },
];

export function matches(dataset: Dataset, search: string): boolean {
  return dataset.name.toLowerCase().includes(search.trim().toLowerCase());
}

export default function DatasetsPage() {
  const datasets = useDatasets();
  const [search, setSearch] = useState("");
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = datasets;
  const more = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);
  const all = useMemo(() => datasets.data?.pages.flatMap((p) => p.datasets) ?? [], [datasets.data]);
  const shown = useMemo(() => all.filter((d) => matches(d, search)), [all, search]);
  return (
    <section className="stack">
      <h1>Datasets</h1>
      <form role="search" onSubmit={(e) => e.preventDefault()}>
        <label className="inline">
          Search datasets
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="name" />
        </label>
      </form>
      <QueryState
        query={datasets}
        what="Loading datasets"
        isEmpty={(d) => d.pages[0].datasets.length === 0}
        empty={
          <>
            No dataset yet. <Link to="/upload">Upload a file</Link> or{" "}
            <Link to="/sources">extract one from a database</Link>.
          </>
        }
      >
        {() =>
          shown.length === 0 ? (
            <Empty>No dataset name contains “{search}”.</Empty>
          ) : (
            <DataTable
              rows={shown}
              columns={COLUMNS}
              rowKey={(d) => d.name}
              label="Datasets"
              onEndReached={more}
              footer={
                <p className="muted" style={{ padding: "0 0.6rem" }}>
                  {count(shown.length)} of {count(all.length)} datasets{hasNextPage ? " (scroll for more)" : ""}
                </p>
              }
            />
          )
        }
      </QueryState>
    </section>
  );
}
