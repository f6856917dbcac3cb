// Realistic answers of the models endpoints (schemas ModelPublic, SamplePublic, JobPublic).
export const REVENUE = {
  name: "daily_revenue",
  sql: "SELECT order_date, sum(amount) AS revenue\nFROM orders\nGROUP BY order_date",
  depends_on: ["orders"],
  built: true,
  built_at: "2026-03-02T10:00:05Z",
  row_count: 31,
  columns: [
    { name: "order_date", type: "DATE" },
    { name: "revenue", type: "DOUBLE" },
  ],
  updated_at: "2026-03-01T09:00:00Z",
  reconcile: { revenue: "orders.amount" },
  last_error: null,
  last_error_at: null,
  version: 4,
  materialized: "table",
  unique_key: [],
  snapshot: null,
  description: "Revenue per day",
  column_docs: { revenue: "sum of valid order amounts" },
  tests: [{ name: "not_null_order_date", type: "not_null", column: "order_date" }],
  test_results: [
    { name: "not_null_order_date", type: "not_null", column: "order_date", status: "passed", failing: 0, detail: "passed" },
  ],
};

export const TOP = {
  ...REVENUE,
  name: "top_days",
  sql: "SELECT * FROM daily_revenue JOIN calendar USING (order_date) ORDER BY revenue DESC LIMIT 10",
  depends_on: ["daily_revenue", "calendar"],
  built: true,
  built_at: "2026-03-01T10:00:00Z",
  row_count: 10,
  version: 2,
  materialized: "incremental",
  unique_key: ["order_date"],
  last_error: "Binder Error: Referenced column \"revenu\" not found",
  last_error_at: "2026-03-02T11:00:00Z",
  tests: [],
  test_results: [],
  reconcile: {},
  description: "",
};

export const page = (models: unknown[]) => ({ models, next_cursor: null, next: null });
