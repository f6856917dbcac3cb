// Who is signed in (GET /api/v1/auth/me); 401 means nobody, shown as the sign-in page.
import { useQuery } from "@tanstack/react-query";
import { api, ApiError, csrfToken, type Schemas, unwrap } from "../api/client";

export type Me = Schemas["MePublic"];
const RANK = { viewer: 0, analyst: 1, operator: 2, admin: 3 } as const;

export function useMe() {
  return useQuery({
    queryKey: ["me"],
    queryFn: async (): Promise<Me | null> => {
      // No session cookie pair in this browser: signed out, no need to ask (and see a 401).
      if (!csrfToken()) return null;
      try {
        return await unwrap(api.GET("/api/v1/auth/me"));
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 60_000,
    retry: false,
  });
}

/** Whether this person's role includes `role` (viewer < analyst < operator < admin). */
export function can(me: Me | null | undefined, role: keyof typeof RANK): boolean {
  return !!me && RANK[me.role as keyof typeof RANK] >= RANK[role];
}
