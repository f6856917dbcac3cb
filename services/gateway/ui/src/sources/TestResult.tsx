// A connection test's answer: connected (version, connect time, round trip) or why not.
import { ErrorBox, Loading } from "../components/States";
import { type ConnectionTest, TEST_ERRORS } from "./api";

function ms(value: number | null | undefined): string {
  return value == null ? "–" : `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

export function TestResult({
  test,
}: {
  test: { isPending: boolean; error: unknown; data: ConnectionTest | undefined; variables?: string };
}) {
  if (test.isPending) return <Loading what={`Connecting to ${test.variables ?? "the database"}`} />;
  if (test.error) return <ErrorBox error={test.error} title="The test could not run" />;
  const result = test.data;
  if (!result) return null;
  if (result.ok)
    return (
      <div className="state panel" role="status">
        <strong className="badge ok">connected</strong> <strong>{result.name}</strong>:{" "}
        {result.server_version ?? "server version unknown"} · connect {ms(result.connect_ms)} · round
        trip {ms(result.round_trip_ms)}
      </div>
    );
  const kind = result.error?.kind ?? "error";
  return (
    <div className="state error" role="alert">
      <strong>
        {result.name}: the test failed ({kind.replace(/_/g, " ")})
      </strong>
      <div>{TEST_ERRORS[kind] ?? ""}</div>
      {result.error?.detail && <div className="mono">{result.error.detail}</div>}
    </div>
  );
}
