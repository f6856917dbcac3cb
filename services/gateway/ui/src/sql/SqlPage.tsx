// SQL explorer: one read-only SELECT over datasets (valid Silver rows) and Gold models, with a
// row and a time limit (the gateway's sandbox, POST /api/v1/sql); results in a grid, download
// as CSV or Parquet.
import { useMutation } from "@tanstack/react-query";
import { lazy, Suspense, useState } from "react";
import { api, raw, type Schemas, unwrap } from "../api/client";
import { count } from "../api/format";
import { type Column, DataTable } from "../components/DataTable";
import { ErrorBox, Loading } from "../components/States";

const SqlEditor = lazy(() => import("../models/SqlEditor"));
type Result = Schemas["SqlResult"];
type Row = unknown[];

const EXAMPLE = "SELECT *\nFROM my_dataset\nLIMIT 100";

function cell(value: unknown): string {
  if (value == null) return "∅";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function resultColumns(result: Result): Column<Row>[] {
  return result.columns.map((c, i) => ({
    key: `${i}-${c.name}`,
    header: `${c.name} (${c.type})`,
    render: (row: Row) => cell(row[i]),
    numeric: /INT|DOUBLE|DECIMAL|FLOAT|REAL|NUMERIC/i.test(c.type),
  }));
}

async function download(sql: string, limit: number, timeout: number, format: "csv" | "parquet") {
  const response = await raw(`/api/v1/sql?format=${format}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sql, limit, timeout }),
  });
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = `result.${format}`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export default function SqlPage() {
  const [sql, setSql] = useState(EXAMPLE);
  const [limit, setLimit] = useState(1000);
  const [timeout, setTimeout_] = useState(30);
  const query = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/v1/sql", { body: { sql, limit, timeout } })) as Promise<Result>,
  });
  const file = useMutation({
    mutationFn: (format: "csv" | "parquet") => download(sql, limit, timeout, format),
  });
  const result = query.data;
  return (
    <section className="stack">
      <h1>SQL explorer</h1>
      <p className="muted">
        One SELECT over datasets (their valid Silver rows) and Gold models, by name. Read-only:
        no files, no network, at most {count(limit)} rows and {timeout} s.
      </p>
      <div
        onKeyDown={(e) => {
          if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
            e.preventDefault();
            query.mutate();
          }
        }}
      >
        <Suspense
          fallback={
            <textarea
              aria-label="SQL query"
              rows={8}
              value={sql}
              onChange={(e) => setSql(e.target.value)}
            />
          }
        >
          <SqlEditor value={sql} onChange={setSql} ariaLabel="SQL query" />
        </Suspense>
      </div>
      <div className="row">
        <button className="primary" onClick={() => query.mutate()} disabled={query.isPending}>
          {query.isPending ? "Running…" : "Run query"}
        </button>
        <span className="muted">Ctrl+Enter</span>
        <label className="inline">
          Row limit
          <input
            type="number"
            min={1}
            max={100000}
            value={limit}
            onChange={(e) => setLimit(Math.max(1, Number(e.target.value) || 1))}
            style={{ width: "7rem" }}
          />
        </label>
        <label className="inline">
          Time limit (s)
          <input
            type="number"
            min={1}
            max={30}
            value={timeout}
            onChange={(e) => setTimeout_(Math.min(30, Math.max(1, Number(e.target.value) || 1)))}
            style={{ width: "5rem" }}
          />
        </label>
        <button onClick={() => file.mutate("csv")} disabled={file.isPending}>
          Download CSV
        </button>
        <button onClick={() => file.mutate("parquet")} disabled={file.isPending}>
          Download Parquet
        </button>
      </div>
      {query.isPending && <Loading what="Running the query" />}
      {query.error && <ErrorBox error={query.error} title="The query was refused" />}
      {file.error && <ErrorBox error={file.error} title="The download failed" />}
      {result && (
        <>
          <p role="status">
            {count(result.rows.length)} rows in {result.seconds.toFixed(2)} s
            {result.truncated ? ` · more rows matched: only the first ${count(limit)} shown` : ""}
            {" · read "}
            {Object.entries(result.tables)
              .map(([name, layer]) => `${name} (${layer})`)
              .join(", ")}
          </p>
          <DataTable
            rows={result.rows}
            columns={resultColumns(result)}
            rowKey={(_, i) => String(i)}
            label="Query results"
          />
        </>
      )}
    </section>
  );
}
