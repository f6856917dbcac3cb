// Loading, empty and error states: every list and page shows one of these, never a blank.
import type { ReactNode } from "react";
import { ApiError } from "../api/client";

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p className="state" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state empty">{children}</div>;
}

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  const detail =
    error instanceof ApiError
      ? error.detail
      : error instanceof Error
        ? error.message
        : String(error);
  const status = error instanceof ApiError && error.status ? ` (HTTP ${error.status})` : "";
  return (
    <div className="state error" role="alert">
      <strong>{title ?? (error instanceof ApiError ? error.title : "Something went wrong")}</strong>
      {status}
      <div>{detail}</div>
    </div>
  );
}

/** One of loading / error / empty / the content, for a query's state. */
export function QueryState<T>({
  query,
  empty,
  isEmpty,
  children,
  what,
}: {
  query: { isPending: boolean; error: unknown; data: T | undefined };
  empty?: ReactNode;
  isEmpty?: (data: T) => boolean;
  children: (data: T) => ReactNode;
  what?: string;
}) {
  if (query.isPending) return <Loading what={what} />;
  if (query.error) return <ErrorBox error={query.error} />;
  const data = query.data as T;
  if (empty && isEmpty?.(data)) return <Empty>{empty}</Empty>;
  return <>{children(data)}</>;
}
