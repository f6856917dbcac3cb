// Quality of one dataset: hooks over /api/v1/datasets/{name}/rules, rules.yaml, quality,
// quarantine, quality/replay, quarantine/release and the AI suggestions (analyze, dry-run,
// accept, dismiss). Query keys: ["quality", dataset, part, ...]; jobs: ["job", id].
import {
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
  type QueryClient,
} from "@tanstack/react-query";
import { api, raw, type Schemas, unwrap } from "../api/client";

export type RuleSet = Schemas["RuleSetPublic"];
export type Quality = Schemas["QualityPublic"];
export type Evaluation = Schemas["EvaluationPublic"];
export type Check = Schemas["CheckPublic"];
export type Job = Schemas["JobPublic"];
export type ReleaseRequest = Schemas["ReleaseRequest"];

/** A rule as written in YAML/JSON (libs/common rules.py: only the fields that are set). */
export interface Rule {
  name: string;
  type: string;
  column?: string;
  columns?: string[];
  action?: "warn" | "quarantine" | "fail";
  description?: string;
  [field: string]: unknown;
}

/** One quarantined entry (a row can have several: one per rule it failed). */
export interface QuarantineEntry {
  run_id: string;
  file: string | null;
  line: number;
  rule: string;
  column: string | null;
  value: unknown;
  reason: string;
  row: Record<string, unknown>;
}

export interface Suggestion {
  id: number;
  kind: "rule" | "rename" | "cast" | "key" | string;
  target: string;
  source: string;
  payload: Record<string, unknown>;
  reason: string;
  run_id: string | null;
  updated_at: string | null;
  status: "open" | "accepted" | "dismissed" | string;
}

export interface AnalysedColumn {
  name: string;
  silver_name?: string | null;
  offline?: {
    semantic_type?: string;
    confidence?: number;
    pii?: boolean;
    pii_kind?: string | null;
    reason?: string;
  };
  llm?: { name?: string; description?: string; type?: string };
}

export interface Suggestions {
  dataset: string;
  columns: AnalysedColumn[];
  suggestions: Suggestion[];
  llm: { source: string; cached: boolean; tokens_spent: number; calls: number } | null;
}

export interface DryRunBatch {
  run_id: string;
  status: string;
  failed_rows: number;
  total_rows: number | null;
  detail: string;
  examples: string[];
}

export interface DryRun {
  rule: Rule;
  failed_rows: number;
  total_rows: number;
  would_quarantine: number;
  would_fail_batches: number;
  batches: DryRunBatch[];
}

export type RuleAction = "warn" | "quarantine" | "fail";

const path = (dataset: string) => ({ params: { path: { name: dataset } } });
const datasetUrl = (dataset: string) => `/api/v1/datasets/${encodeURIComponent(dataset)}`;
export const rulesYamlUrl = (dataset: string) => `${datasetUrl(dataset)}/rules.yaml`;

/** What a change to quality makes stale: this dataset's quality, its page, runs. */
export function refreshQuality(client: QueryClient, dataset: string) {
  void client.invalidateQueries({ queryKey: ["quality", dataset] });
  void client.invalidateQueries({ queryKey: ["dataset", dataset] });
}

// --- rules -----------------------------------------------------------------------------------

export function useRules(dataset: string) {
  return useQuery({
    queryKey: ["quality", dataset, "rules"],
    queryFn: async () => {
      const found = await unwrap(api.GET("/api/v1/datasets/{name}/rules", path(dataset)));
      return { ...found, rules: found.rules as Rule[] };
    },
  });
}

export function useRulesYaml(dataset: string) {
  return useQuery({
    queryKey: ["quality", dataset, "rules.yaml"],
    queryFn: async () => (await raw(rulesYamlUrl(dataset))).text(),
  });
}

function useRulesChanged(dataset: string) {
  const client = useQueryClient();
  return (saved?: RuleSet) => {
    if (saved) client.setQueryData(["quality", dataset, "rules"], saved);
    void client.invalidateQueries({ queryKey: ["quality", dataset, "rules"] });
    void client.invalidateQueries({ queryKey: ["quality", dataset, "rules.yaml"] });
    void client.invalidateQueries({ queryKey: ["dataset", dataset] });
  };
}

export function useAddRule(dataset: string) {
  const changed = useRulesChanged(dataset);
  return useMutation({
    mutationFn: (rule: Record<string, unknown>) =>
      unwrap(api.POST("/api/v1/datasets/{name}/rules", { ...path(dataset), body: rule })),
    onSuccess: (saved) => changed(saved),
  });
}

export function useDeleteRule(dataset: string) {
  const changed = useRulesChanged(dataset);
  return useMutation({
    mutationFn: (rule: string) =>
      unwrap(
        api.DELETE("/api/v1/datasets/{name}/rules/{rule}", {
          params: { path: { name: dataset, rule } },
        }),
      ),
    onSuccess: () => changed(),
  });
}

export function useSaveRulesYaml(dataset: string) {
  const changed = useRulesChanged(dataset);
  return useMutation({
    mutationFn: async (text: string) => {
      const response = await raw(rulesYamlUrl(dataset), {
        method: "PUT",
        headers: { "content-type": "application/yaml" },
        body: text,
      });
      return (await response.json()) as RuleSet;
    },
    onSuccess: (saved) => changed(saved),
  });
}

// --- results and quarantine -------------------------------------------------------------------

export function useQuality(dataset: string, limit = 30) {
  return useQuery({
    queryKey: ["quality", dataset, "results", limit],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/datasets/{name}/quality", {
          params: { path: { name: dataset }, query: { limit } },
        }),
      ),
  });
}

export interface QuarantineFilters {
  rule?: string;
  run_id?: string;
}

export function useQuarantine(dataset: string, filters: QuarantineFilters, pageSize = 200) {
  return useInfiniteQuery({
    queryKey: ["quality", dataset, "quarantine", filters],
    initialPageParam: 0,
    queryFn: async ({ pageParam }) => {
      const found = await unwrap(
        api.GET("/api/v1/datasets/{name}/quarantine", {
          params: {
            path: { name: dataset },
            query: {
              rule: filters.rule || undefined,
              run_id: filters.run_id || undefined,
              limit: pageSize,
              offset: pageParam,
            },
          },
        }),
      );
      return { ...found, rows: found.rows as unknown as QuarantineEntry[], offset: pageParam };
    },
    getNextPageParam: (last) => {
      const next = last.offset + last.rows.length;
      return last.rows.length > 0 && next < last.total ? next : undefined;
    },
  });
}

/** Release requests run one after the other (one per run for chosen lines); the jobs back. */
export function useRelease(dataset: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (requests: ReleaseRequest[]) => {
      const jobs: Job[] = [];
      for (const body of requests)
        jobs.push(
          await unwrap(
            api.POST("/api/v1/datasets/{name}/quarantine/release", { ...path(dataset), body }),
          ),
        );
      return jobs;
    },
    onSettled: () => refreshQuality(client, dataset),
  });
}

export function useReplay(dataset: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (runIds: string[] | null) =>
      unwrap(
        api.POST("/api/v1/datasets/{name}/quality/replay", {
          ...path(dataset),
          body: runIds && runIds.length ? { run_ids: runIds, all: false } : { all: true },
        }),
      ),
    onSettled: () => refreshQuality(client, dataset),
  });
}

// --- AI suggestions ---------------------------------------------------------------------------

export function useSuggestions(dataset: string) {
  return useQuery({
    queryKey: ["quality", dataset, "suggestions"],
    queryFn: async () =>
      (await unwrap(
        api.GET("/api/v1/datasets/{name}/suggestions", path(dataset)),
      )) as unknown as Suggestions,
  });
}

export function useAnalyze(dataset: string) {
  return useMutation({
    mutationFn: (refresh: boolean) =>
      unwrap(api.POST("/api/v1/datasets/{name}/analyze", { ...path(dataset), body: { refresh } })),
  });
}

const suggestionPath = (dataset: string, id: number, action?: RuleAction) => ({
  params: { path: { name: dataset, suggestion_id: id }, query: action ? { action } : {} },
});
const suggestionOnly = (dataset: string, id: number) => ({
  params: { path: { name: dataset, suggestion_id: id } },
});

export function useDryRun(dataset: string) {
  return useMutation({
    mutationFn: async ({ id, action }: { id: number; action: RuleAction }) =>
      (await unwrap(
        api.POST(
          "/api/v1/datasets/{name}/suggestions/{suggestion_id}/dry-run",
          suggestionPath(dataset, id, action),
        ),
      )) as unknown as DryRun,
  });
}

export interface Accepted {
  id: number;
  kind: string;
  accepted: Record<string, unknown>;
  dry_run?: DryRun | { skipped: string };
}

export function useAccept(dataset: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, action }: { id: number; action?: RuleAction }) =>
      (await unwrap(
        api.POST(
          "/api/v1/datasets/{name}/suggestions/{suggestion_id}/accept",
          suggestionPath(dataset, id, action),
        ),
      )) as unknown as Accepted,
    onSettled: () => refreshQuality(client, dataset),
  });
}

export function useDismiss(dataset: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: number) =>
      unwrap(
        api.POST(
          "/api/v1/datasets/{name}/suggestions/{suggestion_id}/dismiss",
          suggestionOnly(dataset, id),
        ),
      ),
    onSettled: () =>
      void client.invalidateQueries({ queryKey: ["quality", dataset, "suggestions"] }),
  });
}
