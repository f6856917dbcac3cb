// Runs: hooks over /api/v1/runs (query keys ["runs", filters], ["run", id], ...).
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, type Schemas, unwrap } from "../api/client";

export type Run = Schemas["RunPublic"];
export type RunStatus = Run["status"];

export interface RunFilters {
  dataset?: string;
  status?: RunStatus;
}

export function useRuns(filters: RunFilters, pageSize = 100) {
  return useInfiniteQuery({
    queryKey: ["runs", filters],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/runs", {
          params: {
            query: {
              dataset: filters.dataset || undefined,
              status: filters.status || undefined,
              limit: pageSize,
              cursor: pageParam,
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useRun(runId: string) {
  return useQuery({
    queryKey: ["run", runId],
    queryFn: () => unwrap(api.GET("/api/v1/runs/{run_id}", { params: { path: { run_id: runId } } })),
    // While the run works the live stream refreshes it; a slow poll covers a lost stream.
    refetchInterval: (q) =>
      q.state.data && ["queued", "running"].includes(q.state.data.status) ? 10_000 : false,
  });
}

export function useRejected(runId: string, enabled: boolean) {
  return useQuery({
    queryKey: ["run-rejected", runId],
    enabled,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/runs/{run_id}/rejected", {
          params: { path: { run_id: runId }, query: { limit: 500 } },
        }),
      ),
  });
}

/** The row equation of a run: each line holds when both sides are known and equal. */
export function rowEquation(counts: Schemas["RunCounts"]) {
  const c = counts;
  const line = (left: string, l: number | null | undefined, parts: [string, number | null | undefined][]) => {
    const known = l != null && parts.every(([, v]) => v != null);
    const sum = parts.reduce((s, [, v]) => s + (v ?? 0), 0);
    return { left, value: l, parts, known, holds: known && sum === l };
  };
  return [
    line("parsed", c.parsed, [["rejected", c.rejected], ["bronze", c.bronze]]),
    line("bronze", c.bronze, [["duplicates", c.duplicates], ["silver", c.silver]]),
    line("silver", c.silver, [["quarantined", c.quarantined], ["valid", c.valid]]),
  ];
}
