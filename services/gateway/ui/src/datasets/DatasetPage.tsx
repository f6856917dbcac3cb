// A dataset: its schema (types, semantic types, PII, nullability), schema versions and their
// differences, column profiles, a sample, quality, lineage, contract and Silver spec, one tab
// each. The tab and the layer are in the address (?tab=schema&layer=silver), so a link or a
// reload keeps them. Quality and the lineage graph are their own chunks, loaded when opened.
import { lazy, type ReactNode, Suspense } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { ago, count, when } from "../api/format";
import { Bars } from "../components/Bars";
import { type Column, DataTable } from "../components/DataTable";
import { Status } from "../components/Status";
import { Empty, ErrorBox, Loading, QueryState } from "../components/States";
import { type Tab, Tabs } from "../components/Tabs";
import {
  type ColumnProfile,
  type Dataset,
  describeColumns,
  type Layer,
  type SchemaVersion,
  updatedAt,
  useContract,
  useDataset,
  useProfile,
  useSample,
  useSchema,
  useSpec,
  useSuggestions,
  versionHistory,
} from "./api";
import { PartState } from "./PartState";

const QualityPanel = lazy(() => import("../quality/QualityPanel"));
const LineageGraph = lazy(() => import("../lineage/LineageGraph"));

const runLink = (runId: string) => `/runs/${encodeURIComponent(runId)}`;

function LayerPicker({ layer, onChange }: { layer: Layer; onChange: (l: Layer) => void }) {
  return (
    <label className="inline">
      Layer
      <select value={layer} onChange={(e) => onChange(e.target.value as Layer)}>
        <option value="silver">Silver</option>
        <option value="bronze">Bronze</option>
      </select>
    </label>
  );
}

/** A layer's tab when the layer has no data yet: said plainly, without asking the API. */
function NotLanded({ layer }: { layer: Layer }) {
  return (
    <Empty>
      No {layer === "silver" ? "Silver" : "Bronze"} data yet: it appears once a file has landed
      {layer === "silver" ? " and passed the Silver step" : ""}.
    </Empty>
  );
}

function SchemaTab({ dataset, layer, setLayer }: { dataset: Dataset; layer: Layer; setLayer: (l: Layer) => void }) {
  const name = dataset.name;
  const schema = useSchema(name, layer);
  const readings = useSuggestions(name);
  // The profile is stored just before the reading: asked only once a reading exists (no 404).
  const profile = useProfile(name, (readings.data?.columns.length ?? 0) > 0);
  return (
    <div className="stack">
      <LayerPicker layer={layer} onChange={setLayer} />
      <PartState query={schema} what="Loading the schema" notYet="It appears once a file has landed.">
        {(s) => {
          const rows = describeColumns(s.columns, readings.data?.columns, profile.data?.columns, dataset.key);
          return (
            <>
              {s.description && <p aria-label="Dataset description">{s.description}</p>}
              <p className="muted">
                {layer === "silver" ? "Silver" : "Bronze"} schema version {s.version} · {s.columns.length} columns ·
                fingerprint <code>{s.fingerprint.slice(0, 16)}</code>
              </p>
              <div className="table-scroll" role="region" aria-label={`Schema of the ${layer} layer`} tabIndex={0}>
                <table className="grid" aria-label="Columns">
                  <thead>
                    <tr>
                      <th scope="col">Column</th>
                      <th scope="col">Type</th>
                      <th scope="col">Semantic type</th>
                      <th scope="col">PII</th>
                      <th scope="col">Nullable</th>
                      <th scope="col">Description</th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((c) => (
                      <tr key={c.name}>
                        <td className="mono">
                          {c.name}
                          {c.isKey && (
                            <>
                              {" "}
                              <span className="badge busy" title="part of the dataset's key">
                                key
                              </span>
                            </>
                          )}
                        </td>
                        <td className="mono">{c.type}</td>
                        <td>
                          {c.reading?.semantic_type ?? "–"}
                          {c.reading?.uncertain && (
                            <span className="muted" title={c.reading.reason ?? undefined}>
                              {" "}
                              (uncertain{c.reading.runner_up ? `; maybe ${c.reading.runner_up}` : ""})
                            </span>
                          )}
                        </td>
                        <td>
                          {c.reading?.pii ? (
                            <span className="badge pii">{c.reading.pii_kind ? `PII: ${c.reading.pii_kind}` : "PII"}</span>
                          ) : c.reading ? (
                            "no"
                          ) : (
                            "–"
                          )}
                        </td>
                        <td>
                          {c.nullable === "unknown"
                            ? "–"
                            : c.nullable === "yes"
                              ? `yes (${c.profile?.nulls_exact === false ? "about " : ""}${c.profile?.null_pct.toFixed(1)}% null)`
                              : "no nulls seen"}
                        </td>
                        <td style={{ whiteSpace: "normal", minWidth: "14rem" }}>
                          {c.description ? (
                            c.description
                          ) : c.reading?.description ? (
                            <span className="muted" title="proposed by the AI service, not accepted yet">
                              {c.reading.description} (suggested)
                            </span>
                          ) : (
                            <span className="muted">{c.reading?.reason ?? ""}</span>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <p className="muted">
                {readings.isPending
                  ? "Loading the AI service's reading of the columns…"
                  : readings.error
                    ? "The AI service's reading of the columns is not available now (semantic types and PII)."
                    : "Descriptions are the catalog's (accepted or written by a person; \"suggested\" ones are the AI service's, not accepted yet); semantic types and PII are the AI service's reading of the latest batch; nullable is what that batch's profile saw."}
              </p>
            </>
          );
        }}
      </PartState>
    </div>
  );
}

function ChangeList({ change }: { change: NonNullable<ReturnType<typeof versionHistory>[number]["change"]> }) {
  const none = !change.added.length && !change.removed.length && !change.renamed.length && !change.retyped.length;
  return (
    <ul>
      {change.added.map((c) => (
        <li key={`+${c.name}`}>
          <span className="badge ok">added</span> <code>{c.name}</code> ({c.type})
        </li>
      ))}
      {change.removed.map((c) => (
        <li key={`-${c.name}`}>
          <span className="badge bad">removed</span> <code>{c.name}</code> ({c.type})
        </li>
      ))}
      {change.renamed.map((c) => (
        <li key={`>${c.from}`}>
          <span className="badge busy">renamed</span> <code>{c.from}</code> → <code>{c.to}</code> (probably)
        </li>
      ))}
      {change.retyped.map((c) => (
        <li key={`~${c.name}`}>
          <span className="badge warn">retyped</span> <code>{c.name}</code>: {c.from} → {c.to}
        </li>
      ))}
      {none && <li>no column changed</li>}
    </ul>
  );
}

function VersionsTab({ name, layer, setLayer }: { name: string; layer: Layer; setLayer: (l: Layer) => void }) {
  const schema = useSchema(name, layer);
  return (
    <div className="stack">
      <LayerPicker layer={layer} onChange={setLayer} />
      <PartState
        query={schema}
        what="Loading schema versions"
        isEmpty={(s) => s.versions.length === 0}
        empty="No schema version is recorded yet."
      >
        {(s) => (
          <ol className="stack" aria-label="Schema versions" style={{ listStyle: "none", padding: 0 }}>
            {versionHistory(s.versions as unknown as SchemaVersion[]).map(({ version: v, columns, change }) => (
              <li key={String(v.version)} className="panel" aria-label={`Version ${v.version}`}>
                <div className="spread">
                  <strong>
                    Version {v.version}
                    {v.version === s.version ? " (current)" : ""}
                  </strong>
                  <span className="muted">
                    {v.created_at ? <time dateTime={v.created_at}>{when(v.created_at)}</time> : null}
                    {v.run_id ? (
                      <>
                        {" · "}
                        <Link to={runLink(v.run_id)}>run {v.run_id.slice(0, 8)}</Link>
                      </>
                    ) : null}
                  </span>
                </div>
                {change ? (
                  <ChangeList change={change} />
                ) : (
                  <p style={{ overflowWrap: "anywhere" }}>
                    First version, {columns.length} columns:{" "}
                    {columns.map((c) => `${c.name} (${c.type})`).join(", ")}
                  </p>
                )}
              </li>
            ))}
          </ol>
        )}
      </PartState>
    </div>
  );
}

function ColumnCard({ column }: { column: ColumnProfile }) {
  const top = column.top_values.slice(0, 12);
  const present = column.rows - column.nulls;
  return (
    <section className="card" aria-label={`Profile of ${column.name}`}>
      <div className="spread">
        <h2 className="mono" style={{ margin: 0, fontSize: "1rem" }}>
          {column.name}
        </h2>
        {column.masked && <span className="badge pii">PII, values masked</span>}
      </div>
      <dl className="facts">
        <dt>Null share</dt>
        <dd>
          {column.nulls_exact === false ? "about " : ""}
          {column.null_pct.toFixed(1)}% ({count(column.nulls)} of {count(column.rows)}
          {column.nulls_exact === false ? ", estimate" : ""})
        </dd>
        <dt>Distinct</dt>
        <dd>
          {count(column.distinct)}
          {column.distinct_exact === false ? " (estimate)" : ""}
          {present > 0 && column.distinct >= present ? " · all different" : ""}
        </dd>
        {column.numeric_min != null && (
          <>
            <dt>Range</dt>
            <dd>
              {column.numeric_min} … {column.numeric_max}
            </dd>
          </>
        )}
        {column.min_length != null && (
          <>
            <dt>Length</dt>
            <dd>
              {column.min_length} … {column.max_length}
            </dd>
          </>
        )}
      </dl>
      {column.rows_profiled != null && column.rows_profiled < column.rows && (
        <p className="muted" style={{ margin: 0 }}>
          Profiled from a sample of {count(column.rows_profiled)} of {count(column.rows)} rows: lengths, ranges and
          frequent values are the sample's.
        </p>
      )}
      {top.length > 0 ? (
        <Bars
          title={`Most frequent values of ${column.name}`}
          bars={top.map(([label, value]) => ({ label, value }))}
          height={70}
        />
      ) : (
        <p className="muted">No values to count.</p>
      )}
    </section>
  );
}

function ProfileTab({ name }: { name: string }) {
  const profile = useProfile(name);
  return (
    <PartState
      query={profile}
      what="Loading column profiles"
      isEmpty={(p) => p.columns.length === 0}
      empty="No profile yet: the AI service profiles each batch after it lands."
      notYet="The AI service profiles each batch after it lands."
    >
      {(p) => (
        <div className="stack">
          <p className="muted">
            Profile of the latest batch ({count(p.rows)} rows
            {p.created_at ? `, ${ago(p.created_at)}` : ""})
            {p.run_id ? (
              <>
                {" · "}
                <Link to={runLink(p.run_id)}>its run</Link>
              </>
            ) : null}
          </p>
          <Bars
            title="Null share by column (%)"
            bars={p.columns.map((c) => ({
              label: c.name,
              value: Math.round(c.null_pct * 10) / 10,
              tone: c.null_pct >= 50 ? "warn" : "busy",
            }))}
            height={90}
          />
          <div className="cards">
            {p.columns.map((c) => (
              <ColumnCard key={c.name} column={c} />
            ))}
          </div>
        </div>
      )}
    </PartState>
  );
}

function cell(value: unknown): string {
  if (value == null) return "∅";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function SampleTab({ name, layer, setLayer }: { name: string; layer: Layer; setLayer: (l: Layer) => void }) {
  const sample = useSample(name, layer);
  return (
    <div className="stack">
      <LayerPicker layer={layer} onChange={setLayer} />
      <PartState
        query={sample}
        what="Loading a sample"
        isEmpty={(s) => s.rows.length === 0}
        empty={layer === "silver" ? "Silver has no valid rows yet." : "Bronze has no rows yet."}
      >
        {(s) => {
          const names = [...new Set(s.rows.flatMap((r) => Object.keys(r)))];
          const columns: Column<Record<string, unknown>>[] = names.map((n) => ({
            key: n,
            header: n,
            render: (row) => cell(row[n]),
          }));
          return (
            <>
              <p className="muted">
                The first {count(s.rows.length)} rows of {layer === "silver" ? "Silver (valid rows only)" : "Bronze"}
                {s.masked ? ". PII values are shown as their shape for your role." : "."}
              </p>
              <DataTable rows={s.rows} columns={columns} rowKey={(_, i) => String(i)} label="Sample rows" maxHeight={480} />
            </>
          );
        }}
      </PartState>
    </div>
  );
}

const SCHEMA_POLICY: Record<string, string> = {
  evolve: "a new file's different columns are accepted and the schema gets a new version",
  freeze: "a file whose columns differ is refused, with the difference",
  discard_row: "rows with values in unknown columns go to rejected; missing columns are null",
};
const ARRAY_POLICY: Record<string, string> = {
  json: "each array is kept as its JSON text in one column",
  columns: "each array is spread into one column per element (tags__0, tags__1, …)",
};

function ContractTab({ name }: { name: string }) {
  const contract = useContract(name);
  return (
    <PartState query={contract} what="Loading the contract" notYet="No contract: the defaults apply.">
      {(c) => (
        <div className="stack">
          <dl className="facts">
            <dt>Schema policy</dt>
            <dd>
              <code>{c.schema_policy}</code>: {SCHEMA_POLICY[c.schema_policy] ?? ""}
              {c.schema_policy === "evolve" ? " (the default)" : ""}
            </dd>
            <dt>Arrays</dt>
            <dd>
              <code>{c.array_policy}</code>: {ARRAY_POLICY[c.array_policy] ?? ""}
              {c.array_policy === "json" ? " (the default)" : ""}
            </dd>
          </dl>
          <details>
            <summary>As JSON</summary>
            <pre>{JSON.stringify(c, null, 2)}</pre>
          </details>
        </div>
      )}
    </PartState>
  );
}

function Pairs({ label, head, pairs }: { label: string; head: [string, string]; pairs: [string, string][] }) {
  if (pairs.length === 0) return null;
  return (
    <div className="table-scroll" role="region" aria-label={`${label} (scrollable)`} tabIndex={0}>
      <table className="grid" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">{head[0]}</th>
            <th scope="col">{head[1]}</th>
          </tr>
        </thead>
        <tbody>
          {pairs.map(([a, b]) => (
            <tr key={a}>
              <td className="mono">{a}</td>
              <td className="mono">{b}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function SpecTab({ name }: { name: string }) {
  const spec = useSpec(name);
  return (
    <PartState
      query={spec}
      what="Loading the Silver spec"
      isEmpty={(s) => !Object.keys(s.renames ?? {}).length && !Object.keys(s.types ?? {}).length}
      empty="No Silver spec: column names are normalised to snake_case and types are inferred."
      notYet="Column names are normalised to snake_case and types are inferred."
    >
      {(s) => (
        <div className="stack">
          <p className="muted">What the Silver step does beyond its safe defaults; it applies to the next batch.</p>
          <Pairs label="Renames" head={["Column", "Renamed to"]} pairs={Object.entries(s.renames ?? {})} />
          <Pairs label="Declared types" head={["Column", "Type"]} pairs={Object.entries(s.types ?? {})} />
          <details>
            <summary>As JSON</summary>
            <pre>{JSON.stringify(s, null, 2)}</pre>
          </details>
        </div>
      )}
    </PartState>
  );
}

function Header({ d }: { d: Dataset }) {
  const silver = d.layers.silver;
  const bronze = d.layers.bronze;
  const at = updatedAt(d);
  const summary = silver
    ? `${count(silver.row_count)} valid rows in ${count(silver.columns)} columns (Silver), from ${count(bronze?.row_count)} landed rows (Bronze).`
    : bronze
      ? `${count(bronze.row_count)} landed rows in Bronze; nothing in Silver yet.`
      : "Configured, but nothing has landed in this dataset yet.";
  return (
    <header className="stack">
      <div className="spread">
        <h1>{d.name}</h1>
        {d.last_run && (
          <span className="row">
            <span className="muted">Last run</span>
            <Status value={d.last_run.status} />
            {d.last_run.verdict && (
              <>
                <span className="muted">quality</span>
                <Status value={d.last_run.verdict} />
              </>
            )}
          </span>
        )}
      </div>
      <p>{summary}</p>
      <dl className="facts">
        <dt>Updated</dt>
        <dd>{at ? <time dateTime={at} title={when(at)}>{ago(at)}</time> : "never"}</dd>
        <dt>Last run</dt>
        <dd>
          {d.last_run ? (
            <>
              <Link to={runLink(d.last_run.run_id)}>
                {d.last_run.filename || d.last_run.run_id.slice(0, 12)}, {ago(d.last_run.created_at)}
              </Link>
              {" · "}
            </>
          ) : (
            "none · "
          )}
          <Link to={`/runs?dataset=${encodeURIComponent(d.name)}`}>all {count(d.runs)} runs</Link>
        </dd>
        <dt>Key</dt>
        <dd>{d.key.length ? <span className="mono">{d.key.join(", ")}</span> : "none (every row kept)"}</dd>
        {silver && (
          <>
            <dt>Silver</dt>
            <dd>
              version {silver.version} · <span className="mono">{silver.location}</span>
            </dd>
          </>
        )}
      </dl>
    </header>
  );
}

const TAB_IDS = ["schema", "versions", "profile", "sample", "quality", "lineage", "contract", "spec"];

export default function DatasetPage() {
  const { name = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const dataset = useDataset(name);
  const asked = params.get("tab") ?? "";
  const tab = TAB_IDS.includes(asked) ? asked : "schema";
  const layer: Layer = params.get("layer") === "bronze" ? "bronze" : "silver";
  const set = (key: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value === null) next.delete(key);
    else next.set(key, value);
    setParams(next, { replace: true });
  };
  const setTab = (id: string) => set("tab", id);
  const setLayer = (l: Layer) => set("layer", l === "silver" ? null : l);
  if (dataset.error)
    return (
      <section className="stack">
        <h1>{name}</h1>
        <ErrorBox error={dataset.error} />
        <p>
          <Link to="/datasets">See every dataset</Link>
        </p>
      </section>
    );
  return (
    <QueryState query={dataset} what="Loading the dataset">
      {(d) => {
        // A layer with no data has no schema, versions or sample: not asked (the API would 404).
        const perLayer = (body: ReactNode) =>
          d.layers[layer] ? (
            body
          ) : (
            <div className="stack">
              <LayerPicker layer={layer} onChange={setLayer} />
              <NotLanded layer={layer} />
            </div>
          );
        const landed = Object.keys(d.layers).length > 0;
        const tabs: Tab[] = [
          { id: "schema", label: "Schema", render: () => perLayer(<SchemaTab dataset={d} layer={layer} setLayer={setLayer} />) },
          {
            id: "versions",
            label: "Versions",
            render: () => perLayer(<VersionsTab name={name} layer={layer} setLayer={setLayer} />),
          },
          { id: "profile", label: "Profile", render: () => (landed ? <ProfileTab name={name} /> : <NotLanded layer="bronze" />) },
          { id: "sample", label: "Sample", render: () => perLayer(<SampleTab name={name} layer={layer} setLayer={setLayer} />) },
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
              <div className="stack">
                <p>
                  <Link to={`/lineage/${encodeURIComponent(name)}`}>Open the lineage on its own page</Link>
                </p>
                {landed ? (
                  <Suspense fallback={<Loading what="Loading the lineage graph" />}>
                    <LineageGraph dataset={name} />
                  </Suspense>
                ) : (
                  <Empty>No lineage yet: it appears once a file has landed.</Empty>
                )}
              </div>
            ),
          },
          { id: "contract", label: "Contract", render: () => <ContractTab name={name} /> },
          { id: "spec", label: "Silver spec", render: () => <SpecTab name={name} /> },
        ];
        return (
          <section className="stack">
            <Header d={d} />
            {Object.keys(d.layers).length === 0 && (
              <Empty>
                Nothing has landed in this dataset yet. <Link to="/upload">Upload a file</Link> to start.
              </Empty>
            )}
            <Tabs tabs={tabs} current={tab} onChange={setTab} label="Dataset views" />
          </section>
        );
      }}
    </QueryState>
  );
}
