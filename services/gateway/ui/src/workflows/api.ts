// Workflows: hooks over /api/v1/workflows (query keys ["workflows"], ["workflow", name],
// ["workflow", name, "runs", status], ["workflow", name, "run", id]). The live stream
// refreshes them on workflow.* events.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, type Schemas, toApiError, unwrap } from "../api/client";

export type Workflow = Schemas["WorkflowPublic"];
export type WorkflowRun = Schemas["WorkflowRun"];
export type StepRun = Schemas["WorkflowStepRun"];
export type RunStatus = WorkflowRun["status"];
export const RUN_STATUSES: RunStatus[] = ["queued", "running", "succeeded", "failed", "cancelled", "skipped"];
export const STEP_KINDS = ["extract", "pickup", "build", "quality", "wait", "webhook"] as const;

/** A small valid definition (webhook and wait steps name no dataset or model), created paused. */
export const EXAMPLE = {
  description: "call a webhook, wait for new Silver rows, then call another",
  schedule: { cron: "0 2 * * *", timezone: "UTC" },
  catchup: "latest",
  max_active_runs: 1,
  paused: true,
  steps: [
    { name: "start", webhook: "https://hooks.example.com/start", retries: 2, timeout: "5m" },
    { name: "fresh_rows", wait: { subject: "silver.ready" }, timeout: "2h" },
    { name: "done", webhook: "https://hooks.example.com/done", needs: ["start", "fresh_rows"] },
  ],
};

export interface FieldProblem {
  where: string;
  problem: string;
}

/** A refused definition: the problem's detail plus each field it names. */
export class DefinitionError extends ApiError {
  constructor(
    base: ApiError,
    readonly fields: FieldProblem[],
  ) {
    super(base.status, base.title, base.detail);
  }
}

const FIELD = /^([A-Za-z_][\w]*(?:\[\d+\])?(?:\.[A-Za-z_][\w]*(?:\[\d+\])?)*): ([\s\S]+)$/;

/** The fields a problem names: `errors` of a 422, or the `field: what` of a 400's detail. */
export function fieldProblems(body: unknown): FieldProblem[] {
  const problem = (body ?? {}) as { errors?: unknown; detail?: unknown };
  if (Array.isArray(problem.errors))
    return problem.errors.map((e: { where?: unknown; problem?: unknown; loc?: unknown[]; msg?: unknown }) => ({
      where: String(e.where ?? (e.loc ?? []).join(".")),
      problem: String(e.problem ?? e.msg ?? ""),
    }));
  if (typeof problem.detail === "string") {
    const match = FIELD.exec(problem.detail.trim());
    if (match) return [{ where: match[1], problem: match[2] }];
  }
  return [];
}

export function useWorkflows() {
  return useQuery({
    queryKey: ["workflows"],
    queryFn: () => unwrap(api.GET("/api/v1/workflows")),
  });
}

export function useWorkflow(name: string) {
  return useQuery({
    queryKey: ["workflow", name],
    queryFn: () => unwrap(api.GET("/api/v1/workflows/{name}", { params: { path: { name } } })),
  });
}

export function useWorkflowRuns(name: string, status: RunStatus | undefined, pageSize = 25) {
  return useInfiniteQuery({
    queryKey: ["workflow", name, "runs", status ?? ""],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/workflows/{name}/runs", {
          params: { path: { name }, query: { status, limit: pageSize, cursor: pageParam } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    // The live stream refreshes on workflow events; a slow poll covers steps in between.
    refetchInterval: (q) =>
      q.state.data?.pages.some((p) => p.runs.some((r) => r.status === "queued" || r.status === "running"))
        ? 10_000
        : false,
  });
}

export function useWorkflowRun(name: string, runId: string | undefined) {
  return useQuery({
    queryKey: ["workflow", name, "run", runId ?? ""],
    enabled: !!runId,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/workflows/{name}/runs/{run_id}", {
          params: { path: { name, run_id: runId ?? "" } },
        }),
      ),
    refetchInterval: (q) =>
      q.state.data && ["queued", "running"].includes(q.state.data.status) ? 5_000 : false,
  });
}

export async function putWorkflow(name: string, definition: Record<string, unknown>): Promise<Workflow> {
  const { data, error, response } = await api.PUT("/api/v1/workflows/{name}", {
    params: { path: { name } },
    body: definition as Schemas["WorkflowBody"],
  });
  if (error !== undefined || !response.ok) {
    throw new DefinitionError(toApiError(response, error), fieldProblems(error));
  }
  return data as Workflow;
}

function useRefresh(name: string) {
  const client = useQueryClient();
  return () =>
    Promise.all([
      client.invalidateQueries({ queryKey: ["workflow", name] }),
      client.invalidateQueries({ queryKey: ["workflows"] }),
    ]);
}

export function usePutWorkflow() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ name, definition }: { name: string; definition: Record<string, unknown> }) =>
      putWorkflow(name, definition),
    onSuccess: (saved) => {
      client.setQueryData(["workflow", saved.name], saved);
      return client.invalidateQueries({ queryKey: ["workflows"] });
    },
  });
}

export function useDeleteWorkflow(name: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/workflows/{name}", { params: { path: { name } } })),
    onSuccess: () => {
      client.removeQueries({ queryKey: ["workflow", name] });
      return client.invalidateQueries({ queryKey: ["workflows"] });
    },
  });
}

export function useRunNow(name: string) {
  const refresh = useRefresh(name);
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/workflows/{name}/runs", { params: { path: { name } } })),
    onSuccess: refresh,
  });
}

export function useBackfill(name: string) {
  const refresh = useRefresh(name);
  return useMutation({
    mutationFn: (body: { start: string; end: string }) =>
      unwrap(api.POST("/api/v1/workflows/{name}/backfill", { params: { path: { name } }, body })),
    onSuccess: refresh,
  });
}

export function usePause(name: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (paused: boolean) =>
      paused
        ? unwrap(api.POST("/api/v1/workflows/{name}/pause", { params: { path: { name } } }))
        : unwrap(api.POST("/api/v1/workflows/{name}/resume", { params: { path: { name } } })),
    onSuccess: (saved) => {
      client.setQueryData(["workflow", name], saved);
      return client.invalidateQueries({ queryKey: ["workflows"] });
    },
  });
}

export function useCancelRun(name: string) {
  const refresh = useRefresh(name);
  const client = useQueryClient();
  return useMutation({
    mutationFn: (runId: string) =>
      unwrap(
        api.POST("/api/v1/workflows/{name}/runs/{run_id}/cancel", {
          params: { path: { name, run_id: runId } },
        }),
      ),
    onSuccess: (run) => {
      client.setQueryData(["workflow", name, "run", run.id], run);
      return refresh();
    },
  });
}

type Definition = Record<string, unknown>;

/** How a workflow starts: its schedule, the workflows it follows, the event it waits for. */
export function triggerText(definition: Definition): string {
  const parts: string[] = [];
  const schedule = definition.schedule as { cron?: string; timezone?: string; every?: string } | undefined;
  if (schedule?.cron) parts.push(`cron ${schedule.cron} (${schedule.timezone ?? "UTC"})`);
  else if (schedule?.every) parts.push(`every ${schedule.every}`);
  const after = definition.after as string[] | undefined;
  if (after?.length) parts.push(`after ${after.join(", ")}`);
  const event = definition.on_event as Record<string, unknown> | undefined;
  if (event?.subject) {
    const filters = Object.entries(event)
      .filter(([k]) => k !== "subject")
      .map(([k, v]) => `${k}=${String(v)}`);
    parts.push(`on ${String(event.subject)}${filters.length ? ` (${filters.join(", ")})` : ""}`);
  }
  return parts.length ? parts.join(" · ") : "manual only";
}

export interface StepDef {
  name: string;
  kind: string;
  target: string;
  needs: string[];
  retries?: number;
  timeout?: string;
}

/** The steps of a definition, with what each does as text. */
export function stepsOf(definition: Definition): StepDef[] {
  const steps = (definition.steps as Record<string, unknown>[] | undefined) ?? [];
  return steps.map((s, i) => {
    const kind = STEP_KINDS.find((k) => s[k] !== undefined) ?? "step";
    const raw = s[kind];
    const target = Array.isArray(raw)
      ? raw.join(", ")
      : raw && typeof raw === "object"
        ? Object.entries(raw as Record<string, unknown>)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(", ")
        : String(raw ?? "");
    return {
      name: String(s.name ?? `step ${i + 1}`),
      kind,
      target,
      needs: Array.isArray(s.needs) ? s.needs.map(String) : [],
      retries: typeof s.retries === "number" ? s.retries : undefined,
      timeout: s.timeout != null ? String(s.timeout) : undefined,
    };
  });
}
