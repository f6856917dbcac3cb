// Lineage: pick a dataset, see file → Bronze → Silver → Gold as a graph.
import { Link, useParams } from "react-router";
import { QueryState } from "../components/States";
import { useDatasets } from "../datasets/api";
import LineageGraph from "./LineageGraph";

export default function LineagePage() {
  const { name } = useParams();
  const datasets = useDatasets();
  return (
    <section className="stack">
      <h1>Lineage{name ? ` of ${name}` : ""}</h1>
      <QueryState
        query={datasets}
        what="Loading datasets"
        isEmpty={(d) => d.pages[0].datasets.length === 0}
        empty="No dataset yet: lineage appears once a file has landed."
      >
        {(d) => (
          <nav aria-label="Datasets">
            <ul className="row" style={{ listStyle: "none", padding: 0 }}>
              {d.pages
                .flatMap((p) => p.datasets)
                .map((ds) => (
                  <li key={ds.name}>
                    <Link
                      to={`/lineage/${encodeURIComponent(ds.name)}`}
                      aria-current={ds.name === name ? "page" : undefined}
                      className={ds.name === name ? "button primary" : "button"}
                    >
                      {ds.name}
                    </Link>
                  </li>
                ))}
            </ul>
          </nav>
        )}
      </QueryState>
      {name ? <LineageGraph dataset={name} /> : <p className="muted">Choose a dataset above.</p>}
    </section>
  );
}
