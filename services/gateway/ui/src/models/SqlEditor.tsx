// A SQL editor for any page (models, the SQL explorer): CodeMirror with SQL highlighting and
// completion, loaded on first use (its own chunk), with a plain textarea meanwhile. Props:
// value, onChange, ariaLabel (its accessible name), readOnly; optional onRun (Ctrl/⌘+Enter),
// tables (names and their columns, for completion) and height.
import { lazy, Suspense } from "react";

export interface SqlEditorProps {
  value: string;
  onChange?: (value: string) => void;
  ariaLabel: string;
  readOnly?: boolean;
  /** Ctrl+Enter / ⌘+Enter */
  onRun?: () => void;
  /** For completion: table (dataset, model) names and their columns. */
  tables?: Record<string, string[]>;
  /** CSS height, e.g. "12rem" (at least that; it grows with the text up to 60vh). */
  height?: string;
}

const CodeMirrorSql = lazy(() => import("./SqlCodeMirror"));

// Someone may type into the plain editor before CodeMirror arrives: when it replaces the
// plain editor, the focus and the caret move over (SqlCodeMirror asks for them).
const handover = { element: null as HTMLTextAreaElement | null };

/** The caret of the plain editor CodeMirror just replaced, if it had the focus (once). */
export function takeFallbackFocus(): number | null {
  const element = handover.element;
  handover.element = null;
  const active = document.activeElement;
  if (!element || element.isConnected || (active && active !== document.body)) return null;
  return element.selectionStart;
}

export function PlainSqlEditor({ value, onChange, ariaLabel, readOnly, onRun, height = "12rem" }: SqlEditorProps) {
  return (
    <textarea
      aria-label={ariaLabel}
      value={value}
      readOnly={readOnly}
      spellCheck={false}
      style={{ minHeight: height }}
      onFocus={(e) => {
        handover.element = e.currentTarget;
      }}
      onBlur={(e) => {
        // Later, so a blur caused by the swap itself still hands the focus over.
        const element = e.currentTarget;
        setTimeout(() => {
          if (handover.element === element) handover.element = null;
        }, 0);
      }}
      onChange={(e) => onChange?.(e.target.value)}
      onKeyDown={(e) => {
        if (onRun && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          onRun();
        }
      }}
    />
  );
}

export default function SqlEditor(props: SqlEditorProps) {
  return (
    <Suspense fallback={<PlainSqlEditor {...props} />}>
      <CodeMirrorSql {...props} />
    </Suspense>
  );
}
