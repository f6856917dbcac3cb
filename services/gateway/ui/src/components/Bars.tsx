// Small bar charts in plain SVG (histograms, trends, counts by status): a few dozen bars do
// not need a charting library on the first page's bundle. Each chart has a text alternative.
export interface Bar {
  label: string;
  value: number;
  tone?: "ok" | "bad" | "warn" | "busy" | "idle";
}

export function Bars({
  bars,
  title,
  height = 120,
}: {
  bars: Bar[];
  title: string;
  height?: number;
}) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const width = Math.max(bars.length * 28, 120);
  const step = width / Math.max(bars.length, 1);
  const summary = bars.map((b) => `${b.label}: ${b.value}`).join(", ");
  return (
    <figure className="bars">
      <svg
        viewBox={`0 0 ${width} ${height + 18}`}
        role="img"
        aria-label={`${title}. ${summary}`}
        preserveAspectRatio="none"
      >
        {bars.map((b, i) => {
          const h = (b.value / max) * height;
          return (
            <g key={`${b.label}-${i}`}>
              <title>{`${b.label}: ${b.value}`}</title>
              <rect
                x={i * step + step * 0.15}
                y={height - h}
                width={step * 0.7}
                height={Math.max(h, b.value > 0 ? 1 : 0)}
                className={`bar ${b.tone ?? "busy"}`}
              />
            </g>
          );
        })}
        <line x1={0} x2={width} y1={height} y2={height} className="axis" />
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}
