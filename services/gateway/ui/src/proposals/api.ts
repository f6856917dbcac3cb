// Whole-pipeline proposals: list, one proposal with its dry run, proposing for a file
// (multipart) or a table, and accepting parts. Query keys: ["proposals"], ["proposal", id].
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, raw, type Schemas, unwrap } from "../api/client";

export type Proposal = Schemas["ProposalPublic"];
export type Accepted = Schemas["ProposalAccepted"];
export type Job = Schemas["JobPublic"];
export type Part = "key" | "source" | "silver" | "rules" | "model" | "schedule";
export const PARTS: Part[] = ["key", "source", "silver", "rules", "model", "schedule"];

export function useProposals() {
  return useQuery({
    queryKey: ["proposals"],
    queryFn: () => unwrap(api.GET("/api/v1/proposals")),
  });
}

export function useProposal(id: string) {
  return useQuery({
    queryKey: ["proposal", id],
    queryFn: () =>
      unwrap(api.GET("/api/v1/proposals/{proposal_id}", { params: { path: { proposal_id: id } } })),
  });
}

/** Propose for a file: the sample goes up as multipart; the answer is the job. */
export async function proposeFile(file: File, dataset: string): Promise<Job> {
  const form = new FormData();
  form.append("file", file);
  if (dataset) form.append("dataset", dataset);
  const response = await raw("/api/v1/proposals", { method: "POST", body: form });
  return (await response.json()) as Job;
}

export function useProposeTable() {
  return useMutation({
    mutationFn: (body: { connection: string; table: string; dataset?: string }) =>
      unwrap(
        api.POST("/api/v1/connections/{name}/proposals", {
          params: { path: { name: body.connection } },
          body: { table: body.table, dataset: body.dataset, rows: 10000 },
        }),
      ) as Promise<Job>,
  });
}

export function useAcceptProposal(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (parts: Part[]) =>
      unwrap(
        api.POST("/api/v1/proposals/{proposal_id}/accept", {
          params: { path: { proposal_id: id } },
          body: { parts },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["proposal", id] });
      void client.invalidateQueries({ queryKey: ["proposals"] });
    },
  });
}
