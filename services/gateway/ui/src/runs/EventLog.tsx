// A run's event log: every event with its time, the service that sent it and a summary,
// filterable, the payload one click away. Live: the stream refreshes ["run-events", id].
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { when } from "../api/format";
import { Empty, QueryState } from "../components/States";

type RunEvent = Schemas["RunEventPublic"];

export function useRunEvents(runId: string) {
  return useQuery({
    queryKey: ["run-events", runId],
    queryFn: () =>
      unwrap(api.GET("/api/v1/runs/{run_id}/events", { params: { path: { run_id: runId } } })),
  });
}

export function filterEvents(events: RunEvent[], text: string): RunEvent[] {
  const needle = text.trim().toLowerCase();
  if (!needle) return events;
  return events.filter((e) =>
    [e.subject, e.service, e.summary].some((v) => (v ?? "").toLowerCase().includes(needle)),
  );
}

export function EventLog({ runId }: { runId: string }) {
  const events = useRunEvents(runId);
  const [filter, setFilter] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const all = events.data?.events;
  const shown = useMemo(() => filterEvents(all ?? [], filter), [all, filter]);
  return (
    <div className="stack">
      <label className="inline">
        Filter events
        <input
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          placeholder="subject, service or text"
        />
      </label>
      <QueryState
        query={events}
        what="Loading events"
        isEmpty={(d) => d.events.length === 0}
        empty="No events recorded for this run yet."
      >
        {() =>
          shown.length === 0 ? (
            <Empty>No event matches “{filter}”.</Empty>
          ) : (
            <div className="table-scroll" role="region" aria-label="Events" tabIndex={0}>
            <table className="grid" aria-label="Event log">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Subject</th>
                  <th>Service</th>
                  <th>Summary</th>
                  <th>Payload</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((e) => (
                  <tr key={e.id}>
                    <td>{when(e.at)}</td>
                    <td className="mono">{e.subject}</td>
                    <td>{e.service}</td>
                    <td style={{ whiteSpace: "normal" }}>
                      {e.summary}
                      {open === e.id && <pre>{JSON.stringify(e.payload, null, 2)}</pre>}
                    </td>
                    <td>
                      <button
                        aria-expanded={open === e.id}
                        onClick={() => setOpen(open === e.id ? null : e.id)}
                      >
                        {open === e.id ? "Hide" : "Show"}
                        <span className="sr-only"> payload of {e.subject}</span>
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            </div>
          )
        }
      </QueryState>
    </div>
  );
}
