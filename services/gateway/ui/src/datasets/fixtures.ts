// Realistic API bodies for the datasets' and lineage's tests (shaped like the gateway's models:
// DatasetPublic, SchemaPublic, the AI service's suggestions and profile, LineagePublic).
import type { Schemas } from "../api/client";

const NOW = Date.now();
export const iso = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString();

export function run(dataset: string, over: Partial<Schemas["RunPublic"]> = {}): Schemas["RunPublic"] {
  const stage = (name: string) => ({
    name,
    status: "succeeded" as const,
    started_at: iso(6),
    finished_at: iso(5),
    error: null,
  });
  return {
    run_id: "3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9",
    dataset,
    filename: `${dataset}.csv`,
    status: "succeeded",
    verdict: "pass",
    error: null,
    created_at: iso(6),
    updated_at: iso(5),
    stages: ["ingest", "bronze", "silver", "quality"].map(stage),
    counts: { parsed: 6, rejected: 0, bronze: 6, duplicates: 0, silver: 6, quarantined: 1, valid: 5 },
    checks: [],
    reading: { format: "csv", encoding: "utf-8", encoding_confidence: 1, encoding_source: "detected", delimiter: ",", has_header: true },
    warnings: [],
    progress: null,
    ...over,
  };
}

const layer = (name: string, layerName: string, rows: number, version = 2) => ({
  layer: layerName,
  location: `${layerName}/${name}/`,
  version,
  row_count: rows,
  columns: 4,
  updated_at: iso(5),
});

export function dataset(name: string, over: Partial<Schemas["DatasetPublic"]> = {}): Schemas["DatasetPublic"] {
  return {
    name,
    key: ["id"],
    layers: { bronze: layer(name, "bronze", 6), silver: layer(name, "silver", 5) },
    runs: 3,
    last_run: run(name),
    ...over,
  };
}

export const CUSTOMERS_SCHEMA = {
  dataset: "customers",
  layer: "silver",
  version: 2,
  fingerprint: "9d1c3b0a77e24f5e8c1d2a3b4c5d6e7f",
  columns: [
    { name: "id", type: "integer", description: "The customer's number, one row each." },
    { name: "email", type: "string", description: null },
    { name: "amount", type: "double" },
    { name: "tier", type: "string" },
  ],
  description: "Customers of the web shop, one row per customer.",
  versions: [
    {
      version: 1,
      fingerprint: "0a1b",
      columns: [
        { name: "id", type: "integer" },
        { name: "e_mail", type: "string" },
        { name: "amount", type: "integer" },
        { name: "region", type: "string" },
      ],
      run_id: "11111111111111111111111111111111",
      created_at: iso(60),
      changes: null,
    },
    {
      version: 2,
      fingerprint: "9d1c",
      columns: [
        { name: "id", type: "integer" },
        { name: "email", type: "string" },
        { name: "amount", type: "double" },
        { name: "tier", type: "string" },
      ],
      run_id: "3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9",
      created_at: iso(5),
      changes: {
        added: ["email", "tier"],
        removed: ["e_mail", "region"],
        probable_renames: [{ old: "e_mail", new: "email" }],
        retyped: [{ column: "amount", old: "integer", new: "double" }],
      },
    },
  ],
};

export const CUSTOMERS_READINGS = {
  dataset: "customers",
  columns: [
    {
      name: "ID",
      silver_name: "id",
      offline: { name: "ID", silver_name: "id", semantic_type: "identifier", confidence: 0.97, pii: false, pii_kind: null, reason: "identifier: distinct integers", format: null },
    },
    {
      name: "E-mail",
      silver_name: "email",
      offline: { name: "E-mail", silver_name: "email", semantic_type: "email", confidence: 0.99, pii: true, pii_kind: "email", reason: "email: 100% of values look like e-mail addresses; PII: email", format: null },
      llm: { name: "E-mail", silver_name: "email", semantic_type: "email", pii: true, suggested_name: "email", description: "The customer's contact e-mail address.", cast: null, date_format: null },
    },
    {
      name: "Amount",
      silver_name: "amount",
      offline: { name: "Amount", silver_name: "amount", semantic_type: "decimal", confidence: 0.56, pii: false, pii_kind: null, reason: "uncertain (confidence 0.56; it may be currency_amount): decimal numbers", format: null, uncertain: true, runner_up: "currency_amount" },
    },
  ],
  suggestions: [],
  llm: null,
};

export const CUSTOMERS_PROFILE = {
  run_id: "3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9",
  rows: 6,
  seconds: 0.02,
  created_at: iso(5),
  columns: [
    { name: "ID", rows: 6, nulls: 0, null_pct: 0, distinct: 6, distinct_exact: true, top_values: [["1", 1], ["2", 1]], patterns: [["9", 6]], numeric_min: 1, numeric_max: 6 },
    { name: "E-mail", rows: 6, nulls: 0, null_pct: 0, distinct: 6, distinct_exact: true, top_values: [["aa@aaaaaaa.aaa", 1]], patterns: [], masked: true },
    { name: "Amount", rows: 6, nulls: 1, null_pct: 16.7, distinct: 5, distinct_exact: true, top_values: [["7", 2], ["-12", 1], ["4", 1]], numeric_min: -12, numeric_max: 9 },
  ],
};

export const CUSTOMERS_LINEAGE = {
  dataset: "customers",
  nodes: [
    { id: "bronze:customers", layer: "bronze", name: "customers" },
    { id: "file:customers.csv", layer: "file", name: "customers.csv" },
    { id: "gold:tiers", layer: "gold", name: "tiers" },
    { id: "silver:customers", layer: "silver", name: "customers" },
  ],
  edges: [
    { source: "bronze:customers", target: "silver:customers" },
    { source: "file:customers.csv", target: "bronze:customers" },
    { source: "silver:customers", target: "gold:tiers" },
  ],
  columns: [
    { node: "gold:tiers", column: "revenue", sources: [{ node: "silver:customers", column: "amount" }] },
    { node: "gold:tiers", column: "tier", sources: [{ node: "silver:customers", column: "tier" }] },
  ],
};
