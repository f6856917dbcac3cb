// Accessible tabs (WAI-ARIA tabs pattern: arrow keys move between tabs).
import { type ReactNode, useId, useRef } from "react";

export interface Tab {
  id: string;
  label: string;
  render: () => ReactNode;
}

export function Tabs({
  tabs,
  current,
  onChange,
  label,
}: {
  tabs: Tab[];
  current: string;
  onChange: (id: string) => void;
  label: string;
}) {
  const base = useId();
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const index = Math.max(
    0,
    tabs.findIndex((t) => t.id === current),
  );
  const move = (to: number) => {
    const next = (to + tabs.length) % tabs.length;
    onChange(tabs[next].id);
    refs.current[next]?.focus();
  };
  return (
    <div className="tabs">
      <div role="tablist" aria-label={label}>
        {tabs.map((tab, i) => (
          <button
            key={tab.id}
            ref={(el) => {
              refs.current[i] = el;
            }}
            role="tab"
            id={`${base}-${tab.id}`}
            aria-selected={i === index}
            aria-controls={`${base}-${tab.id}-panel`}
            tabIndex={i === index ? 0 : -1}
            onClick={() => onChange(tab.id)}
            onKeyDown={(e) => {
              if (e.key === "ArrowRight") move(i + 1);
              if (e.key === "ArrowLeft") move(i - 1);
            }}
          >
            {tab.label}
          </button>
        ))}
      </div>
      <div
        role="tabpanel"
        id={`${base}-${tabs[index].id}-panel`}
        aria-labelledby={`${base}-${tabs[index].id}`}
        tabIndex={0}
      >
        {tabs[index].render()}
      </div>
    </div>
  );
}
