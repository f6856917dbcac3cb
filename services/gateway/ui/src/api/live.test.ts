import { parseSse, staleKeys } from "./live";

describe("parseSse", () => {
  it("emits complete messages with their event name and id, and keeps the rest", () => {
    const seen: { event: string; data: string; id?: string }[] = [];
    const rest = parseSse(
      ': keep-alive\n\nid: 7\nevent: silver.ready\ndata: {"run_id":"r1"}\n\nevent: file.la',
      (m) => seen.push(m),
    );
    expect(seen).toEqual([{ event: "silver.ready", data: '{"run_id":"r1"}', id: "7" }]);
    expect(rest).toBe("event: file.la");
    parseSse(rest + 'nded\ndata: {"a":1}\ndata: {"b":2}\n\n', (m) => seen.push(m));
    expect(seen[1]).toEqual({ event: "file.landed", data: '{"a":1}\n{"b":2}', id: undefined });
  });
});

describe("staleKeys", () => {
  it("refreshes the run, its events, its dataset and the lists", () => {
    const keys = staleKeys({ subject: "bronze.ready", run_id: "r1", dataset: "orders" });
    expect(keys).toContainEqual(["run", "r1"]);
    expect(keys).toContainEqual(["run-events", "r1"]);
    expect(keys).toContainEqual(["dataset", "orders"]);
    expect(keys).toContainEqual(["runs"]);
    expect(keys).toContainEqual(["dashboard"]);
    expect(keys).not.toContainEqual(["models"]);
  });
  it("refreshes models on gold events and workflows on workflow events", () => {
    expect(staleKeys({ subject: "gold.ready" })).toContainEqual(["models"]);
    expect(staleKeys({ subject: "workflow.finished" })).toContainEqual(["workflows"]);
  });
});
