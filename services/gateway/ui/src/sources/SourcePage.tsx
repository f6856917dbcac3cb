// One source connection: its facts, Test, Delete (admins), its tables (searchable, loaded on
// demand: listing connects to the database), a preview of a table's first rows, and an
// extraction of a table or query into a dataset.
// Calls GET/DELETE /api/v1/connections/{name}, POST .../test, GET .../tables, GET .../preview,
// GET/PUT /api/v1/datasets/{name}/source, POST /api/v1/datasets/{name}/extract.
import { type FormEvent, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { count, when } from "../api/format";
import { can, useMe } from "../auth/session";
import { type Column, DataTable } from "../components/DataTable";
import { Empty, ErrorBox, Loading, QueryState } from "../components/States";
import {
  type Connection,
  kindLabel,
  type SourceTable,
  useConnection,
  useDeleteConnection,
  usePreview,
  useTables,
  useTestConnection,
} from "./api";
import { type ExtractionHandle, ExtractionForm } from "./ExtractionForm";
import { TestResult } from "./TestResult";

function Facts({ c }: { c: Connection }) {
  const options = Object.entries(c.options);
  return (
    <dl className="facts">
      <dt>Kind</dt>
      <dd>{kindLabel(c.kind)}</dd>
      <dt>Host</dt>
      <dd className="mono">
        {c.host}:{c.port}
      </dd>
      <dt>Database</dt>
      <dd>{c.database || "–"}</dd>
      <dt>User</dt>
      <dd>{c.user || "–"}</dd>
      <dt>Password</dt>
      <dd>{c.has_password ? "stored (never shown)" : "none"}</dd>
      <dt>Options</dt>
      <dd className="mono">
        {options.length ? options.map(([k, v]) => `${k}=${String(v)}`).join(", ") : "–"}
      </dd>
      <dt>Added</dt>
      <dd>{when(c.created_at)}</dd>
      <dt>Changed</dt>
      <dd>{when(c.updated_at)}</dd>
    </dl>
  );
}

function cell(value: unknown) {
  if (value === null || value === undefined) return <span className="muted">NULL</span>;
  if (typeof value === "object") return <span className="mono">{JSON.stringify(value)}</span>;
  return String(value);
}

function Preview({ name, table }: { name: string; table: string }) {
  const [limit, setLimit] = useState(20);
  const preview = usePreview(name, table, limit);
  return (
    <section aria-labelledby="preview-title" className="stack">
      <div className="spread">
        <h2 id="preview-title">
          Preview of <span className="mono">{table}</span>
        </h2>
        <label className="inline">
          Rows
          <select value={limit} onChange={(e) => setLimit(Number(e.target.value))}>
            {[20, 50, 200].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </div>
      <QueryState
        query={preview}
        what={`Reading the first rows of ${table}`}
        isEmpty={(d) => d.rows.length === 0}
        empty={<>{table} has no rows.</>}
      >
        {(data) => {
          const columns: Column<unknown[]>[] = data.columns.map((c, i) => ({
            key: `${i}-${c.name}`,
            header: c.type ? `${c.name} (${c.type})` : (c.name ?? `column ${i + 1}`),
            render: (row) => cell(row[i]),
          }));
          return (
            <DataTable
              rows={data.rows}
              columns={columns}
              rowKey={(_, i) => String(i)}
              label={`First rows of ${table}`}
              maxHeight={420}
              footer={
                <p className="muted" style={{ padding: "0 0.6rem" }}>
                  {count(data.rows.length)} rows, read in a read-only transaction; PII is not
                  masked here.
                </p>
              }
            />
          );
        }}
      </QueryState>
    </section>
  );
}

function Tables({
  tables,
  schema,
  onBrowse,
  onPreview,
  onUse,
}: {
  tables: ReturnType<typeof useTables>;
  schema: string | undefined;
  onBrowse: (schema: string) => void;
  onPreview: (table: string) => void;
  onUse: (table: SourceTable) => void;
}) {
  const [schemaText, setSchemaText] = useState("");
  const [filter, setFilter] = useState("");
  const loaded = tables.data?.tables;
  const shown = useMemo(() => {
    const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
    return (loaded ?? []).filter((t) => {
      const text = `${t.schema}.${t.name} ${t.columns.map((c) => c.name).join(" ")}`.toLowerCase();
      return words.every((w) => text.includes(w));
    });
  }, [loaded, filter]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = schemaText.trim();
    if (next === schema) void tables.refetch();
    else onBrowse(next);
  };
  const columns: Column<SourceTable>[] = [
    {
      key: "table",
      header: "Table",
      render: (t) => (
        <span className="mono" title={t.columns.map((c) => `${c.name} ${c.type}`).join(", ")}>
          {t.schema}.{t.name}
        </span>
      ),
    },
    { key: "type", header: "Type", render: (t) => t.type },
    { key: "rows", header: "Rows (estimate)", numeric: true, render: (t) => count(t.row_estimate) },
    { key: "columns", header: "Columns", numeric: true, render: (t) => count(t.columns.length) },
    {
      key: "pk",
      header: "Primary key",
      render: (t) => (t.primary_key.length ? t.primary_key.join(", ") : <span className="muted">–</span>),
    },
    {
      key: "actions",
      header: "Actions",
      width: "11rem",
      render: (t) => (
        <span className="row" style={{ gap: "0.4rem", flexWrap: "nowrap" }}>
          <button type="button" onClick={() => onPreview(`${t.schema}.${t.name}`)} aria-label={`Preview ${t.schema}.${t.name}`}>
            Preview
          </button>
          <button type="button" onClick={() => onUse(t)} aria-label={`Use ${t.schema}.${t.name} for an extraction`}>
            Use
          </button>
        </span>
      ),
    },
  ];

  return (
    <section aria-labelledby="tables-title" className="stack">
      <h2 id="tables-title">Tables</h2>
      <form className="row" onSubmit={submit} style={{ alignItems: "flex-end" }}>
        <label>
          Schema (optional)
          <input
            value={schemaText}
            onChange={(e) => setSchemaText(e.target.value)}
            placeholder="all readable"
            autoComplete="off"
            spellCheck={false}
          />
        </label>
        <button type="submit" disabled={tables.isFetching}>
          {loaded ? "Reload tables" : "Browse tables"}
        </button>
      </form>
      {schema === undefined ? (
        <Empty>Browse the tables and views this connection's user may read.</Empty>
      ) : tables.isPending ? (
        <Loading what="Reading the database's catalog" />
      ) : tables.error ? (
        <ErrorBox error={tables.error} title="The tables could not be listed" />
      ) : loaded && loaded.length === 0 ? (
        <Empty>No tables or views{schema ? ` in ${schema}` : ""} that this user may read.</Empty>
      ) : (
        <>
          <div role="search" className="row">
            <label className="inline">
              Filter tables
              <input
                type="search"
                value={filter}
                onChange={(e) => setFilter(e.target.value)}
                placeholder="name or column"
              />
            </label>
            <span className="muted" aria-live="polite">
              {count(shown.length)} of {count(loaded?.length ?? 0)} tables
            </span>
          </div>
          {shown.length === 0 ? (
            <Empty>No table matches “{filter}”.</Empty>
          ) : (
            <DataTable
              rows={shown}
              columns={columns}
              rowKey={(t) => `${t.schema}.${t.name}`}
              label="Tables and views"
              rowHeight={40}
              maxHeight={420}
            />
          )}
        </>
      )}
    </section>
  );
}

export default function SourcePage() {
  const { name = "" } = useParams();
  const me = useMe();
  const operator = can(me.data, "operator");
  const admin = can(me.data, "admin");
  const connection = useConnection(name, operator);
  const test = useTestConnection();
  const remove = useDeleteConnection();
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const [previewed, setPreviewed] = useState<string | undefined>(undefined);
  const [schema, setSchema] = useState<string | undefined>(undefined);
  const tables = useTables(name, schema);
  const extraction = useRef<ExtractionHandle>(null);

  if (me.data && !operator)
    return (
      <section>
        <h1>{name}</h1>
        <Empty>Source database connections are for operators and admins.</Empty>
      </section>
    );

  return (
    <section className="stack">
      <p>
        <Link to="/sources">
          <span aria-hidden="true">← </span>Back to the list
        </Link>
      </p>
      <h1>
        Connection <span className="mono">{name}</span>
      </h1>
      <QueryState query={connection} what="Loading the connection">
        {(c) => (
          <>
            <div className="columns">
              <div className="panel">
                <Facts c={c} />
              </div>
              <div className="panel stack">
                <div className="row">
                  <button
                    type="button"
                    className="primary"
                    onClick={() => test.mutate(c.name)}
                    disabled={test.isPending}
                  >
                    Test connection
                  </button>
                  {admin && !confirming && (
                    <button type="button" className="danger" onClick={() => setConfirming(true)}>
                      Delete connection
                    </button>
                  )}
                </div>
                {confirming && (
                  <div className="state error" role="alertdialog" aria-labelledby="delete-q">
                    <strong id="delete-q">
                      Delete connection {c.name}? Datasets fed from it stop extracting.
                    </strong>
                    <div className="row" style={{ marginTop: "0.5rem" }}>
                      <button
                        type="button"
                        className="danger"
                        autoFocus
                        disabled={remove.isPending}
                        onClick={() =>
                          remove.mutate(c.name, { onSuccess: () => navigate("/sources") })
                        }
                      >
                        Yes, delete {c.name}
                      </button>
                      <button type="button" onClick={() => setConfirming(false)}>
                        Keep it
                      </button>
                    </div>
                  </div>
                )}
                {remove.error && <ErrorBox error={remove.error} title="Not deleted" />}
                <div aria-live="polite">
                  <TestResult test={test} />
                </div>
              </div>
            </div>
            <Tables
              tables={tables}
              schema={schema}
              onBrowse={setSchema}
              onPreview={setPreviewed}
              onUse={(t) => extraction.current?.chooseTable(t)}
            />
            {previewed && <Preview name={c.name} table={previewed} />}
            <ExtractionForm
              ref={extraction}
              connection={c.name}
              tables={tables.data?.tables ?? []}
              canSave={admin}
              canExtract={operator}
            />
          </>
        )}
      </QueryState>
    </section>
  );
}
