// QueryState for a part of a dataset (its schema, profile, lineage...): a 404 there means
// "not yet" (no Silver data, no profiled batch, no lineage), shown as an empty state with the
// API's own words, not as an error. Other errors show as errors.
import type { ReactNode } from "react";
import { ApiError } from "../api/client";
import { Empty, QueryState } from "../components/States";

export function PartState<T>({
  query,
  what,
  empty,
  isEmpty,
  notYet,
  children,
}: {
  query: { isPending: boolean; error: unknown; data: T | undefined };
  what: string;
  empty?: ReactNode;
  isEmpty?: (data: T) => boolean;
  /** Said after the API's detail when the part does not exist yet. */
  notYet?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  const error = query.error;
  if (error instanceof ApiError && error.status === 404)
    return (
      <Empty>
        {error.detail}
        {notYet ? <> {notYet}</> : null}
      </Empty>
    );
  return (
    <QueryState query={query} what={what} empty={empty} isEmpty={isEmpty}>
      {children}
    </QueryState>
  );
}
