// The live event stream (GET /api/v1/events/stream, server-sent events fed from NATS by the
// gateway): one connection per tab. Each event refreshes the cached queries it affects, so
// pages show runs progressing without polling; pages may also listen (useLiveEvents).
// fetch + a small SSE reader rather than EventSource: every event name is seen, and the
// reconnection (with Last-Event-ID) and its state are ours to show.
import { useQueryClient } from "@tanstack/react-query";
import {
  createContext,
  type ReactNode,
  useContext,
  useEffect,
  useRef,
  useState,
} from "react";

export interface LiveEvent {
  subject: string;
  run_id?: string | null;
  dataset?: string | null;
  at?: string | null;
  summary?: string | null;
  id?: string;
}

export type LiveState = "connecting" | "live" | "reconnecting" | "off";
type Listener = (event: LiveEvent) => void;

const listeners = new Set<Listener>();
const LiveContext = createContext<LiveState>("off");

export function useLiveState(): LiveState {
  return useContext(LiveContext);
}

/** Call `onEvent` for every live event while the component is shown. */
export function useLiveEvents(onEvent: Listener): void {
  const ref = useRef(onEvent);
  ref.current = onEvent;
  useEffect(() => {
    const listener: Listener = (e) => ref.current(e);
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
}

/** Parse a chunked SSE body; calls `emit` per complete message. Returns the unparsed rest. */
export function parseSse(
  buffer: string,
  emit: (message: { event: string; data: string; id?: string }) => void,
): string {
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    let event = "message";
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
    if (data.length) emit({ event, data: data.join("\n"), id });
  }
  return rest;
}

/** Which cached queries an event makes stale (query keys: see README of src/). */
export function staleKeys(event: LiveEvent): unknown[][] {
  const keys: unknown[][] = [["dashboard"], ["runs"]];
  if (event.run_id) keys.push(["run", event.run_id], ["run-events", event.run_id]);
  if (event.dataset) keys.push(["dataset", event.dataset], ["datasets"]);
  if (event.subject.startsWith("gold.") || event.subject.startsWith("transform."))
    keys.push(["models"], ["model"]);
  if (event.subject.startsWith("workflow.")) keys.push(["workflows"], ["workflow"]);
  if (event.subject.startsWith("quality.")) keys.push(["quality"]);
  return keys;
}

export function LiveProvider({ enabled, children }: { enabled: boolean; children: ReactNode }) {
  const client = useQueryClient();
  const [state, setState] = useState<LiveState>("off");
  useEffect(() => {
    if (!enabled) return;
    const abort = new AbortController();
    const pending = new Map<string, unknown[]>();
    let flush: ReturnType<typeof setTimeout> | undefined;
    let lastId: string | undefined;
    let delay = 1000;
    const invalidateSoon = (event: LiveEvent) => {
      for (const key of staleKeys(event)) pending.set(JSON.stringify(key), key);
      flush ??= setTimeout(() => {
        flush = undefined;
        const keys = [...pending.values()];
        pending.clear();
        for (const queryKey of keys) void client.invalidateQueries({ queryKey });
      }, 300);
    };
    const connect = async () => {
      while (!abort.signal.aborted) {
        setState(lastId ? "reconnecting" : "connecting");
        try {
          const headers: Record<string, string> = { Accept: "text/event-stream" };
          if (lastId) headers["Last-Event-ID"] = lastId;
          const response = await fetch("/api/v1/events/stream", {
            headers,
            credentials: "same-origin",
            signal: abort.signal,
          });
          if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
          setState("live");
          delay = 1000;
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer = parseSse(buffer + value, ({ event, data, id }) => {
              if (id) lastId = id;
              if (event === "overflow") {
                void client.invalidateQueries();
                return;
              }
              let parsed: LiveEvent;
              try {
                parsed = { subject: event, ...JSON.parse(data), id };
              } catch {
                return;
              }
              invalidateSoon(parsed);
              for (const listener of listeners) listener(parsed);
            });
          }
        } catch {
          if (abort.signal.aborted) return;
        }
        setState("reconnecting");
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    };
    void connect();
    return () => {
      abort.abort();
      if (flush) clearTimeout(flush);
      setState("off");
    };
  }, [enabled, client]);
  return <LiveContext.Provider value={state}>{children}</LiveContext.Provider>;
}
