// Gold models: hooks over /api/v1/models (query keys ["models", ...], ["model", name, ...]).
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas, unwrap } from "../api/client";

export type Model = Schemas["ModelPublic"];
export type ModelCreate = Schemas["ModelCreate"];
export type Job = Schemas["JobPublic"];
export type Materialization = ModelCreate["materialized"];

export function useModels(pageSize = 100) {
  return useInfiniteQuery({
    queryKey: ["models", "list"],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(api.GET("/api/v1/models", { params: { query: { limit: pageSize, cursor: pageParam } } })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useModel(name: string) {
  return useQuery({
    queryKey: ["model", name],
    queryFn: () => unwrap(api.GET("/api/v1/models/{name}", { params: { path: { name } } })),
  });
}

export function useModelSample(name: string, enabled: boolean, limit = 100) {
  return useQuery({
    queryKey: ["model", name, "sample", limit],
    enabled,
    retry: false,
    queryFn: () =>
      unwrap(api.GET("/api/v1/models/{name}/sample", { params: { path: { name }, query: { limit } } })),
  });
}

/** Register or replace a model (POST /api/v1/models replaces one of the same name). */
export function useSaveModel() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ModelCreate) => unwrap(api.POST("/api/v1/models", { body })),
    onSuccess: (saved) => {
      client.setQueryData(["model", saved.name], saved);
      void client.invalidateQueries({ queryKey: ["models"] });
      void client.invalidateQueries({ queryKey: ["model", saved.name] });
    },
  });
}

export function useBuildModel(name: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (fullRefresh: boolean) =>
      unwrap(
        api.POST("/api/v1/models/{name}/build", {
          params: { path: { name }, query: { full_refresh: fullRefresh } },
        }),
      ),
    onSettled: () => void client.invalidateQueries({ queryKey: ["model", name] }),
  });
}

/** Build jobs started through the API that built (or tried) this model, newest first. */
export function useModelBuildJobs(name: string) {
  return useQuery({
    queryKey: ["model", name, "jobs"],
    queryFn: async () => {
      const page = await unwrap(api.GET("/api/v1/jobs", { params: { query: { limit: 100 } } }));
      return page.jobs.filter((job) => {
        if (job.kind !== "build") return false;
        if (job.dataset === name) return true;
        const result = job.result as { built?: { name?: string }[]; failed?: { name?: string }[] } | null;
        return [...(result?.built ?? []), ...(result?.failed ?? [])].some((m) => m?.name === name);
      });
    },
  });
}

export type BuildState = "succeeded" | "failed" | "not built";

/** The last build's outcome: a failure newer than the last good build counts. */
export function buildState(model: Model): BuildState {
  const builtAt = model.built_at ? Date.parse(model.built_at) : null;
  const failedAt = model.last_error_at ? Date.parse(model.last_error_at) : null;
  if (model.last_error && (builtAt === null || (failedAt !== null && failedAt >= builtAt))) return "failed";
  return model.built ? "succeeded" : "not built";
}

/** The model as a definition to send back (POST replaces it), with new SQL. */
export function definitionOf(model: Model, sql: string): ModelCreate {
  const snapshot = (model.snapshot ?? {}) as {
    strategy?: "timestamp" | "check" | null;
    updated_at?: string | null;
    check_cols?: string[] | "all" | null;
    hard_deletes?: "ignore" | "invalidate";
  };
  const key = model.unique_key ?? [];
  const isSnapshot = model.materialized === "snapshot";
  return {
    name: model.name,
    sql,
    reconcile: model.reconcile ?? {},
    materialized: model.materialized as Materialization,
    unique_key: key.length ? key : null,
    strategy: isSnapshot ? (snapshot.strategy ?? null) : null,
    updated_at: isSnapshot ? (snapshot.updated_at ?? null) : null,
    check_cols: isSnapshot ? (snapshot.check_cols ?? null) : null,
    hard_deletes: snapshot.hard_deletes ?? "ignore",
    description: model.description ?? "",
    column_docs: model.column_docs ?? {},
    tests: model.tests ?? [],
  };
}

export type Draft = Schemas["DraftPublic"];
export type DraftRequest = Schemas["DraftRequest"];

/** A model drafted by the LLM from a question, checked and run on a sample
 * (POST /api/v1/models/draft). Nothing is saved: the answer lives in the mutation's state
 * until a person saves it with the model form. */
export function useDraftModel() {
  return useMutation({
    mutationFn: (body: DraftRequest) => unwrap(api.POST("/api/v1/models/draft", { body })),
  });
}
