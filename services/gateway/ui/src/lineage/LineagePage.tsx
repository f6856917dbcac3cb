// Lineage. /lineage/:name: one dataset's graph (everything upstream and downstream of it).
// /lineage: a picker of datasets and, when there are few enough to ask each one's lineage
// (the API has no whole-graph endpoint), all of them merged into one graph.
import { useQueries } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Link, useParams } from "react-router";
import { api, ApiError, unwrap } from "../api/client";
import { count } from "../api/format";
import { Empty, ErrorBox, Loading, QueryState } from "../components/States";
import { useAllPages, useDatasets } from "../datasets/api";
import LineageGraph, { LineageView } from "./LineageGraph";
import { type Lineage, mergeLineages } from "./layout";

/** Up to this many datasets, /lineage asks each one's lineage and draws them together. */
export const WHOLE_GRAPH_MAX = 30;
const LISTED_MAX = 200;

function WholeGraph({ names }: { names: string[] }) {
  const results = useQueries({
    queries: names.map((name) => ({
      queryKey: ["dataset", name, "lineage"],
      queryFn: () => unwrap(api.GET("/api/v1/datasets/{name}/lineage", { params: { path: { name } } })),
    })),
  });
  const pending = results.some((r) => r.isPending);
  // A dataset with no lineage yet answers 404: it is simply not drawn.
  const failed = results.find((r) => r.error && !(r.error instanceof ApiError && r.error.status === 404));
  const stamp = results.map((r) => r.dataUpdatedAt).join(",");
  const merged = useMemo(
    () => mergeLineages(results.flatMap((r) => (r.data ? [r.data as Lineage] : []))),
    // Recomputed when any answer changes (`stamp`), not on every render.
    [stamp],
  );
  if (pending) return <Loading what="Loading the lineage of every dataset" />;
  return (
    <>
      {failed && <ErrorBox error={failed.error} title="Part of the lineage could not be loaded" />}
      {merged.nodes.length === 0 ? (
        <Empty>No lineage recorded yet: it appears once a file has landed.</Empty>
      ) : (
        <LineageView lineage={merged} title="all datasets" />
      )}
    </>
  );
}

function Picker() {
  const datasets = useDatasets();
  useAllPages(datasets);
  const [search, setSearch] = useState("");
  const all = useMemo(() => datasets.data?.pages.flatMap((p) => p.datasets) ?? [], [datasets.data]);
  const shown = all.filter((d) => d.name.toLowerCase().includes(search.trim().toLowerCase()));
  const landed = all.filter((d) => Object.keys(d.layers).length > 0).map((d) => d.name);
  const complete = !datasets.hasNextPage;
  return (
    <QueryState
      query={datasets}
      what="Loading datasets"
      isEmpty={(d) => d.pages[0].datasets.length === 0}
      empty={
        <>
          No dataset yet: lineage appears once a file has landed. <Link to="/upload">Upload a file</Link>.
        </>
      }
    >
      {() => (
        <div className="stack">
          <section className="stack" aria-labelledby="lineage-pick">
            <h2 id="lineage-pick">Choose a dataset</h2>
            <form role="search" onSubmit={(e) => e.preventDefault()}>
              <label className="inline">
                Find a dataset
                <input
                  type="search"
                  value={search}
                  onChange={(e) => setSearch(e.target.value)}
                  placeholder="part of a name"
                  autoComplete="off"
                />
              </label>
            </form>
            {shown.length === 0 ? (
              <Empty>No dataset name contains “{search.trim()}”.</Empty>
            ) : (
              <nav aria-label="Datasets">
                <ul className="row" style={{ listStyle: "none", padding: 0, margin: 0 }}>
                  {shown.slice(0, LISTED_MAX).map((d) => (
                    <li key={d.name}>
                      <Link to={`/lineage/${encodeURIComponent(d.name)}`} className="button">
                        {d.name}
                      </Link>
                    </li>
                  ))}
                </ul>
                {shown.length > LISTED_MAX && (
                  <p className="muted">
                    {count(shown.length - LISTED_MAX)} more: narrow the search to find them.
                  </p>
                )}
              </nav>
            )}
          </section>
          <section className="stack" aria-labelledby="lineage-all">
            <h2 id="lineage-all">Every dataset</h2>
            {!complete ? (
              <Loading what="Loading every dataset" />
            ) : landed.length === 0 ? (
              <Empty>No file has landed yet: there is no lineage to draw.</Empty>
            ) : landed.length > WHOLE_GRAPH_MAX ? (
              <p className="muted">
                {count(landed.length)} datasets have data: too many to draw together here. Choose one above.
              </p>
            ) : (
              <WholeGraph names={landed} />
            )}
          </section>
        </div>
      )}
    </QueryState>
  );
}

export default function LineagePage() {
  const { name } = useParams();
  if (!name)
    return (
      <section className="stack">
        <h1>Lineage</h1>
        <p className="muted">How files flow through Bronze and Silver into Gold models.</p>
        <Picker />
      </section>
    );
  return (
    <section className="stack">
      <h1>Lineage of {name}</h1>
      <p className="row">
        <Link to={`/datasets/${encodeURIComponent(name)}`}>Open the dataset {name}</Link>
        <Link to="/lineage">All datasets</Link>
      </p>
      <LineageGraph dataset={name} />
    </section>
  );
}
