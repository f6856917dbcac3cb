import { useQuery } from "@tanstack/react-query";
import { api, type Schemas, unwrap } from "../api/client";

export type DashboardData = Schemas["DashboardPublic"];

export function useDashboard() {
  return useQuery({
    queryKey: ["dashboard"],
    queryFn: () => unwrap(api.GET("/api/v1/dashboard")),
    // The live stream refreshes it on every event; this only ages "x min ago" and staleness.
    refetchInterval: 60_000,
  });
}
