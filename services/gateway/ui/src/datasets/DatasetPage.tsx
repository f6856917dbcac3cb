// A dataset: its schema (types, semantic types, PII), schema versions and their differences,
// column profiles, a sample, quality, lineage, contract and Silver spec, one tab each (the tab
// is in the address, so a link or a reload keeps it).
import { lazy, Suspense } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { ago, count, when } from "../api/format";
import { Bars } from "../components/Bars";
import { type Column, DataTable } from "../components/DataTable";
import { Status } from "../components/Status";
import { Empty, Loading, QueryState } from "../components/States";
import { Tabs } from "../components/Tabs";
import {
  type ColumnProfile,
  reading,
  schemaDiff,
  type Suggestions,
  useContract,
  useDataset,
  useProfile,
  useSample,
  useSchema,
  useSpec,
  useSuggestions,
} from "./api";

const QualityPanel = lazy(() => import("../quality/QualityPanel"));
const LineageGraph = lazy(() => import("../lineage/LineageGraph"));

function SchemaTab({ name }: { name: string }) {
  const schema = useSchema(name);
  const readings = useSuggestions(name);
  const byName = new Map((readings.data as Suggestions | undefined)?.columns.map((c) => [c.silver_name ?? c.name, c]) ?? []);
  return (
    <QueryState query={schema} what="Loading the schema">
      {(s) => (
        <>
          <p className="muted">
            Silver schema version {s.version} · {s.columns.length} columns · fingerprint{" "}
            <code>{s.fingerprint}</code>
          </p>
          <table className="grid" aria-label="Columns">
            <thead>
              <tr>
                <th>Column</th>
                <th>Type</th>
                <th>Semantic type</th>
                <th>PII</th>
                <th>Description</th>
              </tr>
            </thead>
            <tbody>
              {s.columns.map((c) => {
                const r = reading(byName.get(c.name));
                return (
                  <tr key={c.name}>
                    <td className="mono">{c.name}</td>
                    <td className="mono">{c.type}</td>
                    <td>{r?.semantic_type ?? "–"}</td>
                    <td>{r?.pii ? <span className="badge pii">PII{r.pii_kind ? `: ${r.pii_kind}` : ""}</span> : "–"}</td>
                    <td style={{ whiteSpace: "normal" }}>{r?.description ?? r?.reason ?? ""}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </QueryState>
  );
}

function VersionsTab({ name }: { name: string }) {
  const schema = useSchema(name);
  return (
    <QueryState query={schema} what="Loading schema versions">
      {(s) => {
        const versions = [...s.versions].sort((a, b) => Number(b.version) - Number(a.version));
        return (
          <ol className="stack" aria-label="Schema versions" style={{ listStyle: "none", padding: 0 }}>
            {versions.map((v, i) => {
              const previous = versions[i + 1];
              const cols = (v.columns ?? []) as { name: string; type: string }[];
              const diff = previous ? schemaDiff((previous.columns ?? []) as { name: string; type: string }[], cols) : null;
              return (
                <li key={String(v.version)} className="panel">
                  <div className="spread">
                    <strong>Version {String(v.version)}</strong>
                    <span className="muted">
                      {when(v.created_at as string)}
                      {v.run_id ? (
                        <>
                          {" · "}
                          <Link to={`/runs/${encodeURIComponent(String(v.run_id))}`}>its run</Link>
                        </>
                      ) : null}
                    </span>
                  </div>
                  {!diff ? (
                    <p>First version: {cols.map((c) => c.name).join(", ")}</p>
                  ) : (
                    <ul>
                      {diff.added.map((c) => (
                        <li key={`+${c.name}`}>
                          added <code>{c.name}</code> ({c.type})
                        </li>
                      ))}
                      {diff.removed.map((c) => (
                        <li key={`-${c.name}`}>
                          removed <code>{c.name}</code>
                        </li>
                      ))}
                      {diff.retyped.map((c) => (
                        <li key={`~${c.name}`}>
                          <code>{c.name}</code>: {c.from} → {c.to}
                        </li>
                      ))}
                      {!diff.added.length && !diff.removed.length && !diff.retyped.length && <li>no column changed</li>}
                    </ul>
                  )}
                </li>
              );
            })}
          </ol>
        );
      }}
    </QueryState>
  );
}

function ColumnCard({ column }: { column: ColumnProfile }) {
  const top = column.top_values.slice(0, 12);
  return (
    <div className="card">
      <div className="spread">
        <strong className="mono">{column.name}</strong>
        {column.masked && <span className="badge pii">masked</span>}
      </div>
      <dl className="facts">
        <dt>Nulls</dt>
        <dd>
          {count(column.nulls)} ({column.null_pct.toFixed(1)}%)
        </dd>
        <dt>Distinct</dt>
        <dd>
          {count(column.distinct)}
          {column.distinct_exact === false ? " (about)" : ""}
        </dd>
        {column.numeric_min != null && (
          <>
            <dt>Range</dt>
            <dd>
              {column.numeric_min} … {column.numeric_max}
            </dd>
          </>
        )}
      </dl>
      {top.length > 0 && (
        <Bars
          title={`Most frequent values of ${column.name}`}
          bars={top.map(([label, value]) => ({ label, value }))}
          height={70}
        />
      )}
    </div>
  );
}

function ProfileTab({ name }: { name: string }) {
  const profile = useProfile(name);
  return (
    <QueryState
      query={profile}
      what="Loading column profiles"
      isEmpty={(p) => p.columns.length === 0}
      empty="No profile yet: the AI service profiles each batch after it lands."
    >
      {(p) => (
        <>
          <p className="muted">
            Profile of the latest batch ({count(p.rows)} rows)
            {p.run_id ? (
              <>
                {" · "}
                <Link to={`/runs/${encodeURIComponent(p.run_id)}`}>its run</Link>
              </>
            ) : null}
          </p>
          <div className="cards">
            {p.columns.map((c) => (
              <ColumnCard key={c.name} column={c} />
            ))}
          </div>
        </>
      )}
    </QueryState>
  );
}

function SampleTab({ name }: { name: string }) {
  const sample = useSample(name, "silver");
  return (
    <QueryState
      query={sample}
      what="Loading a sample"
      isEmpty={(s) => s.rows.length === 0}
      empty="Silver has no rows yet."
    >
      {(s) => {
        const names = Object.keys(s.rows[0] ?? {});
        const columns: Column<Record<string, unknown>>[] = names.map((n) => ({
          key: n,
          header: n,
          render: (row) => (row[n] == null ? "∅" : typeof row[n] === "object" ? JSON.stringify(row[n]) : String(row[n])),
        }));
        return (
          <>
            {s.masked && <p className="muted">PII values are shown as their shape for your role.</p>}
            <DataTable rows={s.rows} columns={columns} rowKey={(_, i) => String(i)} label="Sample rows" />
          </>
        );
      }}
    </QueryState>
  );
}

function JsonTab({ query, empty, what }: { query: { isPending: boolean; error: unknown; data: unknown }; empty: string; what: string }) {
  return (
    <QueryState query={query} what={what} isEmpty={(d) => !d || Object.keys(d as object).length === 0} empty={empty}>
      {(d) => <pre>{JSON.stringify(d, null, 2)}</pre>}
    </QueryState>
  );
}

function ContractTab({ name }: { name: string }) {
  return <JsonTab query={useContract(name)} what="Loading the contract" empty="No contract: the schema evolves." />;
}

function SpecTab({ name }: { name: string }) {
  return <JsonTab query={useSpec(name)} what="Loading the Silver spec" empty="No Silver spec: types are inferred." />;
}

export default function DatasetPage() {
  const { name = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const dataset = useDataset(name);
  const tab = params.get("tab") ?? "schema";
  const setTab = (id: string) => {
    const next = new URLSearchParams(params);
    next.set("tab", id);
    setParams(next, { replace: true });
  };
  const tabs = [
    { id: "schema", label: "Schema", render: () => <SchemaTab name={name} /> },
    { id: "versions", label: "Versions", render: () => <VersionsTab name={name} /> },
    { id: "profile", label: "Profile", render: () => <ProfileTab name={name} /> },
    { id: "sample", label: "Sample", render: () => <SampleTab name={name} /> },
    {
      id: "quality",
      label: "Quality",
      render: () => (
        <Suspense fallback={<Loading what="Loading quality" />}>
          <QualityPanel dataset={name} />
        </Suspense>
      ),
    },
    {
      id: "lineage",
      label: "Lineage",
      render: () => (
        <Suspense fallback={<Loading what="Loading the lineage graph" />}>
          <LineageGraph dataset={name} />
        </Suspense>
      ),
    },
    { id: "contract", label: "Contract", render: () => <ContractTab name={name} /> },
    { id: "spec", label: "Silver spec", render: () => <SpecTab name={name} /> },
  ];
  return (
    <QueryState query={dataset} what="Loading the dataset">
      {(d) => (
        <section className="stack">
          <div className="spread">
            <h1>{d.name}</h1>
            {d.last_run && <Status value={d.last_run.status} />}
          </div>
          <dl className="facts">
            <dt>Rows</dt>
            <dd>
              Silver {count(d.layers.silver?.row_count)} · Bronze {count(d.layers.bronze?.row_count)}
            </dd>
            <dt>Key</dt>
            <dd>{d.key.join(", ") || "none (every row kept)"}</dd>
            <dt>Runs</dt>
            <dd>
              <Link to={`/runs?dataset=${encodeURIComponent(d.name)}`}>{count(d.runs)} runs</Link>
              {d.last_run && (
                <>
                  {" · last "}
                  <Link to={`/runs/${encodeURIComponent(d.last_run.run_id)}`}>{ago(d.last_run.created_at)}</Link>
                </>
              )}
            </dd>
          </dl>
          {Object.keys(d.layers).length === 0 && <Empty>Nothing has landed in this dataset yet.</Empty>}
          <Tabs tabs={tabs} current={tab} onChange={setTab} label="Dataset views" />
        </section>
      )}
    </QueryState>
  );
}
