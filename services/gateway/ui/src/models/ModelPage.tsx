// One Gold model (GET /api/v1/models/{name}): its SQL (admins save it: POST /api/v1/models
// replaces the definition), Preview (GET .../sample, analysts), Build now (POST .../build, a
// job, operators), what it reads and what reads it, columns, tests, and its builds.
import { useQueryClient } from "@tanstack/react-query";
import { useId, useMemo, useState } from "react";
import { Link, useParams } from "react-router";
import { ago, count, duration, when } from "../api/format";
import { can, useMe } from "../auth/session";
import { type Column, DataTable } from "../components/DataTable";
import { Status } from "../components/Status";
import { Empty, ErrorBox, Loading, QueryState } from "../components/States";
import { JobWatch, jobSummary, Verdict } from "../quality/shared";
import {
  buildState,
  definitionOf,
  type Job,
  type Model,
  useBuildModel,
  useModel,
  useModelBuildJobs,
  useModels,
  useModelSample,
  useSaveModel,
} from "./api";
import { LastBuild } from "./LastBuild";
import SqlEditor from "./SqlEditor";

type Row = Record<string, unknown>;

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function rowColumns(rows: Row[]): Column<Row>[] {
  const names: string[] = [];
  for (const row of rows.slice(0, 50)) for (const k of Object.keys(row)) if (!names.includes(k)) names.push(k);
  return names.map((name) => ({
    key: name,
    header: name,
    numeric: rows.some((r) => typeof r[name] === "number"),
    render: (r) => {
      const text = cell(r[name]);
      return r[name] === null ? <span className="muted">null</span> : <span title={text}>{text}</span>;
    },
  }));
}

function SqlSection({ model, admin, tables }: { model: Model; admin: boolean; tables: Record<string, string[]> }) {
  const save = useSaveModel();
  const id = useId();
  const [draft, setDraft] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const text = draft ?? model.sql;
  return (
    <section aria-labelledby={`${id}-h`} className="stack">
      <h2 id={`${id}-h`}>SQL</h2>
      <SqlEditor
        value={text}
        ariaLabel={`SQL of model ${model.name}`}
        readOnly={!admin}
        tables={tables}
        onChange={(value) => {
          setDraft(value);
          setSaved(false);
          if (save.error) save.reset();
        }}
      />
      {admin ? (
        <div className="row">
          <button
            type="button"
            className="primary"
            disabled={save.isPending || draft === null || draft === model.sql}
            onClick={() =>
              save.mutate(definitionOf(model, text), {
                onSuccess: () => {
                  setDraft(null);
                  setSaved(true);
                },
              })
            }
          >
            {save.isPending ? "Saving…" : "Save"}
          </button>
          {draft !== null && draft !== model.sql && (
            <button type="button" onClick={() => setDraft(null)}>
              Discard changes
            </button>
          )}
          {saved && (
            <span role="status" className="muted">
              Saved; the model is rebuilt from the data already landed.
            </span>
          )}
        </div>
      ) : (
        <p className="muted">Changing a model is for admins.</p>
      )}
      {save.error && <ErrorBox error={save.error} title="The model was not saved" />}
    </section>
  );
}

function PreviewSection({ model }: { model: Model }) {
  const [asked, setAsked] = useState(false);
  const sample = useModelSample(model.name, asked);
  const id = useId();
  const columns = useMemo(() => rowColumns(sample.data?.rows ?? []), [sample.data]);
  return (
    <section aria-labelledby={`${id}-h`} className="stack">
      <div className="spread">
        <h2 id={`${id}-h`} style={{ margin: 0 }}>
          Rows
        </h2>
        <button
          type="button"
          disabled={sample.isFetching}
          onClick={() => (asked ? void sample.refetch() : setAsked(true))}
        >
          Preview
        </button>
      </div>
      {!asked ? (
        <p className="muted" style={{ margin: 0 }}>
          Preview shows the first 100 rows of the model's table as last built.
        </p>
      ) : (
        <QueryState
          query={sample}
          what="Reading the model's rows"
          isEmpty={(d) => d.rows.length === 0}
          empty="The model's table has no rows."
        >
          {(d) => (
            <>
              {d.masked && <span className="badge pii">PII values shown as shapes</span>}
              <DataTable rows={d.rows} columns={columns} rowKey={(_, i) => String(i)} label={`Rows of ${model.name}`} maxHeight={420} />
            </>
          )}
        </QueryState>
      )}
    </section>
  );
}

function BuildSection({ model }: { model: Model }) {
  const client = useQueryClient();
  const build = useBuildModel(model.name);
  const [full, setFull] = useState(false);
  const [job, setJob] = useState<Job | null>(null);
  const incremental = model.materialized === "incremental" || model.materialized === "snapshot";
  return (
    <div className="panel stack">
      <h2 style={{ marginTop: 0 }}>Build</h2>
      <p className="muted" style={{ margin: 0 }}>
        Rebuild it (and the models reading it) from the data there is now.
      </p>
      <label className="inline">
        <input type="checkbox" checked={full} onChange={(e) => setFull(e.target.checked)} />
        Full refresh{incremental ? " (from all input rows, not only new batches)" : " (matters for incremental models)"}
      </label>
      <div className="row">
        <button
          type="button"
          className="primary"
          disabled={build.isPending}
          onClick={() => {
            setJob(null);
            build.mutate(full, { onSuccess: setJob });
          }}
        >
          Build now
        </button>
      </div>
      {build.error && <ErrorBox error={build.error} title="The build did not start" />}
      {job && (
        <JobWatch
          key={job.id}
          job={job}
          what="Build"
          onDone={() => {
            void client.invalidateQueries({ queryKey: ["model", model.name] });
            void client.invalidateQueries({ queryKey: ["models"] });
          }}
        />
      )}
    </div>
  );
}

function Dependencies({ model, models }: { model: Model; models: Model[] | undefined }) {
  const names = new Set((models ?? []).map((m) => m.name));
  const readers = (models ?? []).filter((m) => m.depends_on.includes(model.name));
  const link = (name: string) =>
    names.has(name) ? (
      <Link to={`/models/${encodeURIComponent(name)}`}>{name}</Link>
    ) : (
      <Link to={`/datasets/${encodeURIComponent(name)}`}>{name}</Link>
    );
  return (
    <div className="panel stack">
      <h2 style={{ marginTop: 0 }}>Dependencies</h2>
      <h3>Reads</h3>
      {model.depends_on.length === 0 ? (
        <p className="muted">Nothing (a constant query).</p>
      ) : (
        <ul>
          {model.depends_on.map((name) => (
            <li key={name}>
              {link(name)} <span className="muted">({names.has(name) ? "model" : "dataset"})</span>
            </li>
          ))}
        </ul>
      )}
      <h3>Read by</h3>
      {models === undefined ? (
        <Loading what="Loading models" />
      ) : readers.length === 0 ? (
        <p className="muted">No other model reads it.</p>
      ) : (
        <ul>
          {readers.map((m) => (
            <li key={m.name}>
              <Link to={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

interface TestResult {
  name: string;
  type: string;
  column?: string | null;
  status: string;
  failing: number | null;
  detail: string;
}

const TEST_COLUMNS: Column<TestResult>[] = [
  { key: "name", header: "Test", render: (t) => <span className="mono">{t.name}</span> },
  { key: "type", header: "Type", render: (t) => t.type },
  { key: "column", header: "Column", render: (t) => t.column ?? "–" },
  { key: "status", header: "Status", render: (t) => <Verdict value={t.status} /> },
  { key: "failing", header: "Failing rows", numeric: true, render: (t) => count(t.failing) },
  { key: "detail", header: "Detail", render: (t) => <span title={t.detail}>{t.detail}</span> },
];

function Tests({ model }: { model: Model }) {
  const tests = model.tests ?? [];
  const results = (model.test_results ?? []) as unknown as TestResult[];
  if (tests.length === 0 && results.length === 0)
    return <Empty>No tests: a model's tests (not_null, unique, …) run on each build before it is committed.</Empty>;
  return (
    <div className="stack">
      {results.length > 0 ? (
        <DataTable rows={results} columns={TEST_COLUMNS} rowKey={(t) => t.name} label="Test results of the last build" maxHeight={300} />
      ) : (
        <p className="muted">The tests have not run yet (they run on the next build).</p>
      )}
      <details>
        <summary>Test definitions ({tests.length})</summary>
        <pre>{JSON.stringify(tests, null, 2)}</pre>
      </details>
    </div>
  );
}

const JOB_COLUMNS: Column<Job>[] = [
  { key: "when", header: "Started", render: (j) => <span title={when(j.created_at)}>{ago(j.created_at)}</span> },
  { key: "status", header: "Status", render: (j) => <Status value={j.status} /> },
  { key: "took", header: "Took", numeric: true, render: (j) => duration(j.created_at, j.finished_at) },
  {
    key: "result",
    header: "Result",
    render: (j) => {
      const text = j.error ?? jobSummary(j) ?? "–";
      return <span title={text}>{text}</span>;
    },
  },
];

function Builds({ model }: { model: Model }) {
  const jobs = useModelBuildJobs(model.name);
  const state = buildState(model);
  return (
    <div className="stack">
      <dl className="facts">
        <dt>Last build</dt>
        <dd>
          <LastBuild model={model} />
        </dd>
        <dt>Last good build</dt>
        <dd>{model.built_at ? `${when(model.built_at)} · version ${model.version ?? "–"} · ${count(model.row_count)} rows` : "never"}</dd>
        {model.last_error && (
          <>
            <dt>Last failure</dt>
            <dd>
              {when(model.last_error_at)}
              {state !== "failed" && " (a later build succeeded)"}
            </dd>
          </>
        )}
      </dl>
      <h3>Builds started through the API</h3>
      <p className="muted" style={{ margin: 0 }}>
        The API keeps only the last build of a model; the automatic rebuilds after a dataset
        lands are not listed here, only build jobs (Build now, workflows, the API).
      </p>
      <QueryState
        query={jobs}
        what="Loading build jobs"
        isEmpty={(d) => d.length === 0}
        empty="No build jobs among the latest 100 jobs."
      >
        {(d) => <DataTable rows={d} columns={JOB_COLUMNS} rowKey={(j) => j.id} label={`Build jobs of ${model.name}`} maxHeight={300} />}
      </QueryState>
    </div>
  );
}

function Facts({ model }: { model: Model }) {
  const snapshot = model.snapshot as Record<string, unknown> | null | undefined;
  return (
    <dl className="facts panel">
      <dt>Materialization</dt>
      <dd>{model.materialized}</dd>
      {(model.unique_key ?? []).length > 0 && (
        <>
          <dt>Unique key</dt>
          <dd>{(model.unique_key ?? []).join(", ")}</dd>
        </>
      )}
      {snapshot && (
        <>
          <dt>Snapshot</dt>
          <dd>
            {Object.entries(snapshot)
              .filter(([, v]) => v != null)
              .map(([k, v]) => `${k}: ${cell(v)}`)
              .join(" · ")}
          </dd>
        </>
      )}
      <dt>Rows</dt>
      <dd>{count(model.row_count)}</dd>
      <dt>Version</dt>
      <dd>{model.version ?? "–"}</dd>
      <dt>Last build</dt>
      <dd>
        <LastBuild model={model} />
      </dd>
      <dt>Defined</dt>
      <dd>{when(model.updated_at)}</dd>
      {Object.keys(model.reconcile ?? {}).length > 0 && (
        <>
          <dt>Reconciled</dt>
          <dd>
            {Object.entries(model.reconcile ?? {})
              .map(([gold, source]) => `${gold} = sum of ${source}`)
              .join("; ")}
          </dd>
        </>
      )}
      {model.description && (
        <>
          <dt>Description</dt>
          <dd>{model.description}</dd>
        </>
      )}
    </dl>
  );
}

function ColumnsTable({ model }: { model: Model }) {
  const docs = model.column_docs ?? {};
  const columns = model.columns ?? [];
  if (columns.length === 0) return <Empty>No columns yet: they are known once the model is built.</Empty>;
  return (
    <DataTable
      rows={columns}
      columns={[
        { key: "name", header: "Column", render: (c) => c.name },
        { key: "type", header: "Type", render: (c) => <span className="mono">{c.type}</span> },
        { key: "doc", header: "Description", render: (c) => docs[c.name] ?? "–" },
      ]}
      rowKey={(c) => c.name}
      label={`Columns of ${model.name}`}
      maxHeight={300}
    />
  );
}

export default function ModelPage() {
  const { name = "" } = useParams();
  const me = useMe();
  const model = useModel(name);
  const models = useModels();
  const all = useMemo(() => models.data?.pages.flatMap((p) => p.models), [models.data]);
  const tables = useMemo(
    () => Object.fromEntries((all ?? []).map((m) => [m.name, (m.columns ?? []).map((c) => c.name)])),
    [all],
  );
  return (
    <section className="stack">
      <nav aria-label="Breadcrumb" className="muted">
        <Link to="/models">Models</Link> / {name}
      </nav>
      <QueryState query={model} what={`Loading model ${name}`}>
        {(m) => (
          <>
            <div className="spread">
              <h1 style={{ margin: 0 }}>{m.name}</h1>
              <span className="row" style={{ gap: "0.4rem" }}>
                <span className="badge idle">{m.materialized}</span>
                <Status value={buildState(m)} />
              </span>
            </div>
            <Facts model={m} />
            {m.last_error && buildState(m) === "failed" && (
              <ErrorBox
                error={new Error(m.last_error)}
                title={`The last build failed${m.built ? " (the table keeps its last good version)" : ""}`}
              />
            )}
            <SqlSection model={m} admin={can(me.data, "admin")} tables={tables} />
            <div className="columns">
              {can(me.data, "operator") && <BuildSection model={m} />}
              <Dependencies model={m} models={all} />
            </div>
            {can(me.data, "analyst") ? (
              <PreviewSection model={m} />
            ) : (
              <p className="muted">Previewing a model's rows is for analysts and above.</p>
            )}
            <h2>Columns</h2>
            <ColumnsTable model={m} />
            <h2>Tests</h2>
            <Tests model={m} />
            <h2>Builds</h2>
            <Builds model={m} />
          </>
        )}
      </QueryState>
    </section>
  );
}
