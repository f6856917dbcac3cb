// Source databases: hooks over /api/v1/connections and a dataset's source / extract
// (query keys ["connections"], ["connections", name, ...], ["dataset", name, "source"]).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas, unwrap } from "../api/client";

export type Connection = Schemas["ConnectionPublic"];
export type ConnectionCreate = Schemas["ConnectionCreate"];
export type ConnectionKind = Connection["kind"];
export type ConnectionTest = Schemas["ConnectionTest"];
export type SourceTable = Schemas["SourceTable"];
export type Preview = Schemas["PreviewPublic"];
/** The body of PUT .../source (SourceBody): exactly one of `table` and `query`. */
export type SourceBody = {
  connection: string;
  mode: "full" | "incremental";
  lookback: number;
  key?: string[];
  cursor?: string;
  initial?: string | number;
} & ({ table: string } | { query: string });
export type Source = Schemas["SourcePublic"];
export type ExtractAccepted = Schemas["ExtractAccepted"];

/** The names the gateway accepts for connections and datasets. */
export const NAME_PATTERN = "[a-z][a-z0-9_]{0,62}";
export const NAME_RULE = "lower-case letters, digits and _, starting with a letter";

export const KINDS: { value: ConnectionKind; label: string; port: number }[] = [
  { value: "postgresql", label: "PostgreSQL", port: 5432 },
  { value: "mysql", label: "MySQL / MariaDB", port: 3306 },
  { value: "sqlserver", label: "SQL Server", port: 1433 },
  { value: "oracle", label: "Oracle", port: 1521 },
];

export function kindLabel(kind: string): string {
  return KINDS.find((k) => k.value === kind)?.label ?? kind;
}

/** What a failed test's `error.kind` means (docs/sources.md). */
export const TEST_ERRORS: Record<string, string> = {
  host_unreachable: "The host name does not resolve, or nothing listens on host:port.",
  timeout: "No answer within the connect timeout.",
  auth_failed: "The server refused the user or password.",
  database_not_found: "No such database (or, on MySQL, the user may not use it).",
  tls_required: "The server accepts only encrypted connections: set the TLS option to require.",
  tls_unavailable: "TLS was required but the server does not offer it.",
  unsupported: "This kind of database cannot be reached from here yet.",
  error: "The server answered with an error.",
};

export function useConnections(enabled = true) {
  return useQuery({
    queryKey: ["connections"],
    enabled,
    queryFn: () => unwrap(api.GET("/api/v1/connections")),
  });
}

export function useConnection(name: string, enabled = true) {
  return useQuery({
    queryKey: ["connections", name],
    enabled,
    queryFn: () =>
      unwrap(api.GET("/api/v1/connections/{name}", { params: { path: { name } } })),
  });
}

export function useCreateConnection() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ConnectionCreate) => unwrap(api.POST("/api/v1/connections", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["connections"] }),
  });
}

export function useDeleteConnection() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (name: string) =>
      unwrap(api.DELETE("/api/v1/connections/{name}", { params: { path: { name } } })),
    onSuccess: (_, name) => {
      client.removeQueries({ queryKey: ["connections", name] });
      return client.invalidateQueries({ queryKey: ["connections"], exact: true });
    },
  });
}

/** Connect and ask the server's version: `ok`, or `ok: false` with the error classified. */
export function useTestConnection() {
  return useMutation({
    mutationFn: (name: string) =>
      unwrap(api.POST("/api/v1/connections/{name}/test", { params: { path: { name } } })),
  });
}

/** Tables and views the connection's user may read (asked when `schema` is not undefined). */
export function useTables(name: string, schema: string | undefined) {
  return useQuery({
    queryKey: ["connections", name, "tables", schema ?? ""],
    enabled: schema !== undefined,
    staleTime: 5 * 60_000,
    retry: false,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/connections/{name}/tables", {
          params: { path: { name }, query: { schema: schema || undefined } },
        }),
      ),
  });
}

export function usePreview(name: string, table: string | undefined, limit: number) {
  return useQuery({
    queryKey: ["connections", name, "preview", table ?? "", limit],
    enabled: !!table,
    retry: false,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/connections/{name}/preview", {
          params: { path: { name }, query: { table: table ?? "", limit } },
        }),
      ),
  });
}

export async function getSource(dataset: string): Promise<Source> {
  return unwrap(
    api.GET("/api/v1/datasets/{name}/source", { params: { path: { name: dataset } } }),
  );
}

export function usePutSource() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ dataset, body }: { dataset: string; body: SourceBody }) =>
      unwrap(
        api.PUT("/api/v1/datasets/{name}/source", { params: { path: { name: dataset } }, body }),
      ),
    onSuccess: (saved) => client.setQueryData(["dataset", saved.dataset, "source"], saved),
  });
}

export function useExtract() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (dataset: string) =>
      unwrap(
        api.POST("/api/v1/datasets/{name}/extract", { params: { path: { name: dataset } } }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: ["runs"] }),
  });
}
