// Datasets: every dataset with its layers' rows, its last run and that run's quality verdict.
// The list is cursor-paged (more pages load as it scrolls; a search loads them all, since the
// API filters by no name) and virtual, so 1,000 datasets stay fast. The search is in the
// address (?q=), so a link or a reload keeps it. No graph library here: this page stays light.
import { useCallback, useMemo } from "react";
import { Link, useSearchParams } from "react-router";
import { ago, count, when } from "../api/format";
import { type Column, DataTable } from "../components/DataTable";
import { Status } from "../components/Status";
import { Empty, QueryState } from "../components/States";
import { type Dataset, matches, updatedAt, useAllPages, useDatasets } from "./api";

const COLUMNS: Column<Dataset>[] = [
  {
    key: "name",
    header: "Dataset",
    width: "16rem",
    render: (d) => <Link to={`/datasets/${encodeURIComponent(d.name)}`}>{d.name}</Link>,
  },
  { key: "silver", header: "Silver rows", numeric: true, render: (d) => count(d.layers.silver?.row_count) },
  { key: "bronze", header: "Bronze rows", numeric: true, render: (d) => count(d.layers.bronze?.row_count) },
  { key: "key", header: "Key", render: (d) => (d.key.length ? <span className="mono">{d.key.join(", ")}</span> : "–") },
  // Only the name link carries the dataset's name (a search by link name finds one link).
  {
    key: "runs",
    header: "Runs",
    numeric: true,
    render: (d) =>
      d.runs ? (
        <Link to={`/runs?dataset=${encodeURIComponent(d.name)}`} title={`The runs of ${d.name}`}>
          {count(d.runs)}
        </Link>
      ) : (
        "0"
      ),
  },
  {
    key: "status",
    header: "Last run",
    render: (d) =>
      d.last_run ? (
        <Link
          to={`/runs/${encodeURIComponent(d.last_run.run_id)}`}
          title={`The last run of ${d.name}`}
          style={{ textDecoration: "none" }}
        >
          <Status value={d.last_run.status} />
        </Link>
      ) : (
        "–"
      ),
  },
  {
    key: "verdict",
    header: "Quality",
    render: (d) => (d.last_run?.verdict ? <Status value={d.last_run.verdict} /> : "–"),
  },
  {
    key: "when",
    header: "Updated",
    render: (d) => {
      const at = updatedAt(d);
      return at ? <time dateTime={at} title={when(at)}>{ago(at)}</time> : "–";
    },
  },
];

export default function DatasetsPage() {
  const [params, setParams] = useSearchParams();
  const search = params.get("q") ?? "";
  const datasets = useDatasets();
  const searching = search.trim() !== "";
  // The API filters by no name: a search looks through every page.
  useAllPages(datasets, searching);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = datasets;
  const more = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);
  const all = useMemo(() => datasets.data?.pages.flatMap((p) => p.datasets) ?? [], [datasets.data]);
  const shown = useMemo(() => (searching ? all.filter((d) => matches(d, search)) : all), [all, search, searching]);
  const setSearch = (value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set("q", value);
    else next.delete("q");
    setParams(next, { replace: true });
  };
  const still = hasNextPage ? " (more are loading)" : "";
  return (
    <section className="stack">
      <h1>Datasets</h1>
      <form role="search" className="row" onSubmit={(e) => e.preventDefault()}>
        <label className="inline">
          Search datasets
          <input
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="part of a name"
            autoComplete="off"
          />
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
            <Empty>
              No dataset name contains “{search.trim()}”{searching && hasNextPage ? " so far: looking through more…" : "."}
            </Empty>
          ) : (
            <DataTable
              rows={shown}
              columns={COLUMNS}
              rowKey={(d) => d.name}
              label="Datasets"
              onEndReached={searching ? undefined : more}
              footer={
                <p className="muted" style={{ padding: "0 0.6rem" }} role="status">
                  {searching
                    ? `${count(shown.length)} of ${count(all.length)} datasets match${still}`
                    : `${count(all.length)} datasets${hasNextPage ? " (scroll for more)" : ""}`}
                  {isFetchingNextPage ? " · loading more…" : ""}
                </p>
              }
            />
          )
        }
      </QueryState>
    </section>
  );
}
