// Datasets: hooks over /api/v1/datasets (query keys ["datasets", ...], ["dataset", name, part]).
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, type Schemas, unwrap } from "../api/client";

export type Dataset = Schemas["DatasetPublic"];
export type SchemaInfo = Schemas["SchemaPublic"];

/** A column as the AI service read it: offline profiler, or the LLM when it was asked. */
export interface ColumnReading {
  name: string;
  silver_name?: string;
  offline?: Semantic;
  llm?: Semantic | null;
}
export interface Semantic {
  semantic_type?: string | null;
  pii?: boolean;
  pii_kind?: string | null;
  description?: string | null;
  reason?: string | null;
  confidence?: number | null;
  format?: string | null;
}
export interface Suggestions {
  dataset: string;
  columns: ColumnReading[];
}
export interface ColumnProfile {
  name: string;
  rows: number;
  nulls: number;
  null_pct: number;
  distinct: number;
  distinct_exact?: boolean;
  top_values: [string, number][];
  patterns?: [string, number][];
  numeric_min?: number | null;
  numeric_max?: number | null;
  min_length?: number | null;
  max_length?: number | null;
  masked?: boolean;
}
export interface Profile {
  run_id?: string;
  rows?: number;
  columns: ColumnProfile[];
}

export function useDatasets() {
  return useInfiniteQuery({
    queryKey: ["datasets"],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(api.GET("/api/v1/datasets", { params: { query: { limit: 500, cursor: pageParam } } })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

const path = (name: string) => ({ params: { path: { name } } });

export function useDataset(name: string) {
  return useQuery({
    queryKey: ["dataset", name],
    queryFn: () => unwrap(api.GET("/api/v1/datasets/{name}", path(name))),
  });
}

export function useSchema(name: string, layer: "bronze" | "silver" = "silver") {
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

export function useProfile(name: string) {
  return useQuery({
    queryKey: ["dataset", name, "profile"],
    queryFn: async () =>
      (await unwrap(api.GET("/api/v1/datasets/{name}/profile", path(name)))) as unknown as Profile,
  });
}

export function useSample(name: string, layer: "bronze" | "silver") {
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

/** What changed between two schema versions' column lists. */
export function schemaDiff(
  before: { name: string; type: string }[],
  after: { name: string; type: string }[],
) {
  const old = new Map(before.map((c) => [c.name, c.type]));
  const now = new Map(after.map((c) => [c.name, c.type]));
  return {
    added: after.filter((c) => !old.has(c.name)),
    removed: before.filter((c) => !now.has(c.name)),
    retyped: after
      .filter((c) => old.has(c.name) && old.get(c.name) !== c.type)
      .map((c) => ({ name: c.name, from: old.get(c.name) as string, to: c.type })),
  };
}

/** The reading to show for a column: the LLM's when there is one, else the profiler's. */
export function reading(column: ColumnReading | undefined): Semantic | undefined {
  return column?.llm ?? column?.offline;
}
