// Datasets: hooks over /api/v1/datasets (query keys ["datasets", ...], ["dataset", name, part])
// and the pure helpers the pages draw with (tested without a browser).
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import { api, type Schemas, unwrap } from "../api/client";

export type Dataset = Schemas["DatasetPublic"];
export type SchemaInfo = Schemas["SchemaPublic"];
export type Layer = "bronze" | "silver";

/** A column as the AI service read it: offline profiler, or the LLM when it was asked. */
export interface ColumnReading {
  name: string;
  silver_name?: string | null;
  offline?: Semantic | null;
  llm?: Semantic | null;
}
export interface Semantic {
  semantic_type?: string | null;
  pii?: boolean | null;
  pii_kind?: string | null;
  description?: string | null;
  reason?: string | null;
  confidence?: number | null;
  format?: string | null;
  /** The offline detector was not sure (too close to `runner_up`, or too weak). */
  uncertain?: boolean | null;
  runner_up?: string | null;
}
export interface Suggestions {
  dataset: string;
  columns: ColumnReading[];
}
/** GET .../profile (the AI service's profile of the latest batch; untyped in the OpenAPI). */
export interface ColumnProfile {
  name: string;
  rows: number;
  nulls: number;
  null_pct: number;
  distinct: number;
  distinct_exact?: boolean;
  /** Rows the figures come from (fewer than `rows`: a sample; nulls are then estimated). */
  rows_profiled?: number;
  nulls_exact?: boolean;
  top_values: [string, number][];
  patterns?: [string, number][];
  numeric_min?: number | null;
  numeric_max?: number | null;
  min_length?: number | null;
  max_length?: number | null;
  min?: string | null;
  max?: string | null;
  masked?: boolean;
}
export interface Profile {
  run_id?: string;
  rows?: number;
  created_at?: string;
  columns: ColumnProfile[];
}

/** A schema version as the catalog keeps it (`versions` of GET .../schema, untyped there). */
export interface SchemaVersion {
  version: number;
  fingerprint?: string;
  columns?: { name: string; type: string }[];
  run_id?: string | null;
  created_at?: string | null;
  changes?: {
    added?: string[];
    removed?: string[];
    probable_renames?: { old: string; new: string }[];
    retyped?: { column: string; old: string; new: string }[];
  } | null;
}

const PAGE = 500;

export function useDatasets() {
  return useInfiniteQuery({
    queryKey: ["datasets"],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(api.GET("/api/v1/datasets", { params: { query: { limit: PAGE, cursor: pageParam } } })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

/** Every page of datasets, fetched one after the other while `enabled` (a search, a picker). */
export function useAllPages(query: ReturnType<typeof useDatasets>, enabled = true) {
  const { hasNextPage, isFetchingNextPage, fetchNextPage, isError } = query;
  useEffect(() => {
    if (enabled && hasNextPage && !isFetchingNextPage && !isError) void fetchNextPage();
  }, [enabled, hasNextPage, isFetchingNextPage, isError, fetchNextPage]);
}

const path = (name: string) => ({ params: { path: { name } } });

export function useDataset(name: string) {
  return useQuery({
    queryKey: ["dataset", name],
    queryFn: () => unwrap(api.GET("/api/v1/datasets/{name}", path(name))),
  });
}

export function useSchema(name: string, layer: Layer = "silver") {
  return useQuery({
    queryKey: ["dataset", name, "schema", layer],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/datasets/{name}/schema", { params: { path: { name }, query: { layer } } }),
      ),
  });
}

export function useSuggestions(name: string) {
  return useQuery({
    queryKey: ["dataset", name, "readings"],
    queryFn: async () =>
      (await unwrap(api.GET("/api/v1/datasets/{name}/suggestions", path(name)))) as unknown as Suggestions,
  });
}

export function useProfile(name: string, enabled = true) {
  return useQuery({
    queryKey: ["dataset", name, "profile"],
    enabled,
    queryFn: async () =>
      (await unwrap(api.GET("/api/v1/datasets/{name}/profile", path(name)))) as unknown as Profile,
  });
}

export function useSample(name: string, layer: Layer) {
  return useQuery({
    queryKey: ["dataset", name, "sample", layer],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/datasets/{name}/sample", {
          params: { path: { name }, query: { layer, limit: 200 } },
        }),
      ),
  });
}

export function useContract(name: string) {
  return useQuery({
    queryKey: ["dataset", name, "contract"],
    queryFn: () => unwrap(api.GET("/api/v1/datasets/{name}/contract", path(name))),
  });
}

export function useSpec(name: string) {
  return useQuery({
    queryKey: ["dataset", name, "spec"],
    queryFn: () => unwrap(api.GET("/api/v1/datasets/{name}/spec", path(name))),
  });
}

export function matches(dataset: Dataset, search: string): boolean {
  return dataset.name.toLowerCase().includes(search.trim().toLowerCase());
}

/** When the dataset last changed: its Silver layer's update, else Bronze's, else its last run's. */
export function updatedAt(d: Dataset): string | undefined {
  return d.layers.silver?.updated_at ?? d.layers.bronze?.updated_at ?? d.last_run?.updated_at;
}

export interface ColumnChange {
  added: { name: string; type: string }[];
  removed: { name: string; type: string }[];
  renamed: { from: string; to: string }[];
  retyped: { name: string; from: string; to: string }[];
}

/** What changed between two schema versions' column lists. */
export function schemaDiff(
  before: { name: string; type: string }[],
  after: { name: string; type: string }[],
): ColumnChange {
  const old = new Map(before.map((c) => [c.name, c.type]));
  const now = new Map(after.map((c) => [c.name, c.type]));
  return {
    added: after.filter((c) => !old.has(c.name)),
    removed: before.filter((c) => !now.has(c.name)),
    renamed: [],
    retyped: after
      .filter((c) => old.has(c.name) && old.get(c.name) !== c.type)
      .map((c) => ({ name: c.name, from: old.get(c.name) as string, to: c.type })),
  };
}

/**
 * Each version, newest first, with what changed from the one before (null for the first): the
 * catalog's own record of the change when it kept one (it also names probable renames), else
 * the difference of the two column lists.
 */
export function versionHistory(versions: SchemaVersion[]) {
  const ordered = [...versions].sort((a, b) => Number(a.version) - Number(b.version));
  return ordered
    .map((v, i) => {
      const previous = ordered[i - 1];
      const columns = v.columns ?? [];
      if (!previous) return { version: v, columns, change: null as ColumnChange | null };
      const computed = schemaDiff(previous.columns ?? [], columns);
      const recorded = v.changes;
      if (!recorded) return { version: v, columns, change: computed };
      const typeNow = new Map(columns.map((c) => [c.name, c.type]));
      const typeBefore = new Map((previous.columns ?? []).map((c) => [c.name, c.type]));
      const renamed = (recorded.probable_renames ?? []).map((r) => ({ from: r.old, to: r.new }));
      const renamedFrom = new Set(renamed.map((r) => r.from));
      const renamedTo = new Set(renamed.map((r) => r.to));
      return {
        version: v,
        columns,
        change: {
          added: (recorded.added ?? [])
            .filter((n) => !renamedTo.has(n))
            .map((n) => ({ name: n, type: typeNow.get(n) ?? "?" })),
          removed: (recorded.removed ?? [])
            .filter((n) => !renamedFrom.has(n))
            .map((n) => ({ name: n, type: typeBefore.get(n) ?? "?" })),
          renamed,
          retyped: (recorded.retyped ?? []).map((r) => ({ name: r.column, from: r.old, to: r.new })),
        },
      };
    })
    .reverse();
}

/**
 * The reading to show for a column: the LLM's semantic type and description over the
 * profiler's, and PII when either of them says so (the profiler names the kind).
 */
export function reading(column: ColumnReading | undefined): Semantic | undefined {
  if (!column || (!column.offline && !column.llm)) return undefined;
  const { offline, llm } = column;
  const pii = !!(offline?.pii || llm?.pii);
  return {
    semantic_type: llm?.semantic_type ?? offline?.semantic_type ?? null,
    pii,
    pii_kind: pii ? (offline?.pii_kind ?? llm?.pii_kind ?? null) : null,
    description: llm?.description ?? offline?.description ?? null,
    reason: offline?.reason ?? null,
    confidence: offline?.confidence ?? null,
    format: offline?.format ?? null,
    // The LLM's type, when it gave one, settles what the detector was unsure of.
    uncertain: llm?.semantic_type ? false : (offline?.uncertain ?? null),
    runner_up: llm?.semantic_type ? null : (offline?.runner_up ?? null),
  };
}

/** A column name as Silver spells it (lower snake_case), to match a source name to it. */
export function snake(name: string): string {
  return name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
}

/**
 * Silver's columns joined with what is known of them: the AI reading (keyed by Silver name)
 * and the latest batch's profile (keyed by source name; nulls seen tell whether it is nullable).
 */
export function describeColumns(
  columns: { name: string; type: string; description?: string | null }[],
  readings: ColumnReading[] | undefined,
  profile: ColumnProfile[] | undefined,
  key: string[] = [],
) {
  const bySilver = new Map<string, ColumnReading>();
  for (const r of readings ?? []) bySilver.set(r.silver_name ?? snake(r.name), r);
  const profiles = new Map<string, ColumnProfile>();
  for (const p of profile ?? []) {
    profiles.set(p.name, p);
    if (!profiles.has(snake(p.name))) profiles.set(snake(p.name), p);
  }
  return columns.map((c) => {
    const r = bySilver.get(c.name);
    const p = (r && profiles.get(r.name)) ?? profiles.get(c.name);
    const nullable: "yes" | "no" | "unknown" = p ? (p.nulls > 0 ? "yes" : "no") : "unknown";
    return { ...c, reading: reading(r), profile: p, nullable, isKey: key.includes(c.name) };
  });
}
