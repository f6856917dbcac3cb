// A table that stays fast with tens of thousands of rows: only the rows in view are in the
// page (TanStack Virtual), spacer rows keep the scroll height, the header stays put. A real
// <table>, so screen readers and `getByRole("row")` see rows and cells. `onEndReached` asks
// for the next page when the last rows come into view (cursor-paged lists).
import { useVirtualizer } from "@tanstack/react-virtual";
import { type ReactNode, useEffect, useRef } from "react";

export interface Column<T> {
  key: string;
  header: string;
  render: (row: T) => ReactNode;
  width?: string;
  numeric?: boolean;
}

export function DataTable<T>({
  rows,
  columns,
  rowKey,
  label,
  maxHeight = 560,
  rowHeight = 36,
  onEndReached,
  footer,
}: {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T, index: number) => string;
  label: string;
  maxHeight?: number;
  rowHeight?: number;
  onEndReached?: () => void;
  footer?: ReactNode;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => rowHeight,
    overscan: 12,
  });
  const items = virtual.getVirtualItems();
  const last = items.length ? items[items.length - 1].index : -1;
  useEffect(() => {
    if (onEndReached && rows.length > 0 && last >= rows.length - 5) onEndReached();
  }, [last, rows.length, onEndReached]);
  // Without a measured scroll box (first render, tests) show the first rows plainly.
  const shown = items.length
    ? items
    : rows.slice(0, 50).map((_, index) => ({ index, start: index * rowHeight, size: rowHeight }));
  const before = shown.length ? shown[0].start : 0;
  const after = shown.length
    ? Math.max(0, virtual.getTotalSize() - (shown[shown.length - 1].start + rowHeight))
    : 0;
  return (
    <div
      className="table-scroll"
      ref={scroller}
      style={{ maxHeight }}
      tabIndex={0}
      role="region"
      aria-label={label}
    >
      <table className="grid" aria-rowcount={rows.length + 1}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} style={{ width: c.width }} className={c.numeric ? "num" : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {before > 0 && (
            <tr aria-hidden="true" style={{ height: before }}>
              <td colSpan={columns.length} />
            </tr>
          )}
          {shown.map(({ index }) => {
            const row = rows[index];
            return (
              <tr key={rowKey(row, index)} aria-rowindex={index + 2} style={{ height: rowHeight }}>
                {columns.map((c) => (
                  <td key={c.key} className={c.numeric ? "num" : undefined}>
                    {c.render(row)}
                  </td>
                ))}
              </tr>
            );
          })}
          {after > 0 && (
            <tr aria-hidden="true" style={{ height: after }}>
              <td colSpan={columns.length} />
            </tr>
          )}
        </tbody>
      </table>
      {footer}
    </div>
  );
}
