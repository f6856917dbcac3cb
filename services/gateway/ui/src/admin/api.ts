// People, machines and the audit log, for admins: hooks over /api/v1/users, /api/v1/keys and
// /api/v1/audit (query keys ["admin", "users"], ["admin", "keys"], ["admin", "audit", filters]).
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas, unwrap } from "../api/client";

export type User = Schemas["UserPublic"];
export type Role = User["role"];
export type ApiKey = Schemas["KeyPublic"];
export type KeyCreated = Schemas["KeyCreated"];
export type AuditEntry = Schemas["AuditEntry"];
export const ROLES: Role[] = ["viewer", "analyst", "operator", "admin"];
export const ROLE_TEXT: Record<Role, string> = {
  viewer: "reads metadata, runs, quality results and samples (PII masked)",
  analyst: "also PII values in samples, Gold rows and SQL",
  operator: "also uploads, extracts, runs workflows, releases quarantine, builds models",
  admin: "also configuration, connections, workflows, users, keys and the audit log",
};

export function useUsers() {
  return useQuery({ queryKey: ["admin", "users"], queryFn: () => unwrap(api.GET("/api/v1/users")) });
}

export function useCreateUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["UserCreate"]) => unwrap(api.POST("/api/v1/users", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["admin", "users"] }),
  });
}

export function useUpdateUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ name, patch }: { name: string; patch: Schemas["UserPatch"] }) =>
      unwrap(api.PATCH("/api/v1/users/{name}", { params: { path: { name } }, body: patch })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["admin", "users"] }),
  });
}

export function useDeleteUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (name: string) =>
      unwrap(api.DELETE("/api/v1/users/{name}", { params: { path: { name } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["admin", "users"] }),
  });
}

export function useKeys() {
  return useQuery({ queryKey: ["admin", "keys"], queryFn: () => unwrap(api.GET("/api/v1/keys")) });
}

/** Creates a key: the answer holds the key itself, the only time it is ever shown. It is kept
 * in the mutation's state only (never in the query cache) until the admin dismisses it. */
export function useCreateKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["KeyCreate"]) => unwrap(api.POST("/api/v1/keys", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["admin", "keys"] }),
  });
}

export function useRevokeKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (keyId: string) =>
      unwrap(api.DELETE("/api/v1/keys/{key_id}", { params: { path: { key_id: keyId } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["admin", "keys"] }),
  });
}

export interface AuditFilters {
  actor?: string;
  action?: string;
  target?: string;
  since?: string;
  until?: string;
}

export function useAudit(filters: AuditFilters, pageSize = 100) {
  return useInfiniteQuery({
    queryKey: ["admin", "audit", filters],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/audit", {
          params: { query: { ...filters, limit: pageSize, cursor: pageParam } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export type AiUsage = Schemas["UsagePublic"];
export type AiCall = Schemas["UsageCall"];
export type AiDay = Schemas["UsageDay"];

/** The LLM's token use and cost (GET /api/v1/ai/usage): per UTC day, today against the daily
 * budget, the latest calls. */
export function useAiUsage(days = 30) {
  return useQuery({
    queryKey: ["admin", "ai-usage", days],
    queryFn: () => unwrap(api.GET("/api/v1/ai/usage", { params: { query: { days, recent: 50 } } })),
  });
}
