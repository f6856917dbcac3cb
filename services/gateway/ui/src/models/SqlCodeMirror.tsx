// The CodeMirror side of SqlEditor (a lazily loaded chunk: import SqlEditor, not this).
import { sql, StandardSQL } from "@codemirror/lang-sql";
import CodeMirror, { EditorView, keymap, Prec } from "@uiw/react-codemirror";
import { useMemo, useRef } from "react";
import { type SqlEditorProps, takeFallbackFocus } from "./SqlEditor";

export default function SqlCodeMirror({ value, onChange, ariaLabel, readOnly, onRun, tables, height = "12rem" }: SqlEditorProps) {
  const run = useRef(onRun);
  run.current = onRun;
  const extensions = useMemo(
    () => [
      sql({ dialect: StandardSQL, schema: tables, upperCaseKeywords: true }),
      EditorView.lineWrapping,
      EditorView.contentAttributes.of({ "aria-label": ariaLabel }),
      // Before the default keymap (where Mod-Enter inserts a blank line).
      Prec.highest(
        keymap.of([
          {
            key: "Mod-Enter",
            run: () => {
              if (!run.current) return false;
              run.current();
              return true;
            },
          },
        ]),
      ),
    ],
    [ariaLabel, tables],
  );
  return (
    <CodeMirror
      value={value}
      onChange={(text) => onChange?.(text)}
      readOnly={readOnly}
      editable={!readOnly}
      extensions={extensions}
      minHeight={height}
      maxHeight="60vh"
      // Tab moves focus to the next control (no keyboard trap); indent with the editor's keys.
      indentWithTab={false}
      basicSetup={{ foldGutter: false, highlightActiveLine: !readOnly }}
      onCreateEditor={(view) => {
        const caret = takeFallbackFocus();
        if (caret === null) return;
        view.focus();
        view.dispatch({ selection: { anchor: Math.min(caret, view.state.doc.length) } });
      }}
    />
  );
}
