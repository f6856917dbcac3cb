import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import SqlEditor, { PlainSqlEditor, takeFallbackFocus } from "./SqlEditor";

// CodeMirror measures text; jsdom has no layout, so give ranges empty rectangles.
beforeAll(() => {
  const empty = () => ({ x: 0, y: 0, top: 0, left: 0, right: 0, bottom: 0, width: 0, height: 0, toJSON: () => ({}) });
  Range.prototype.getClientRects = () => Object.assign([], { item: () => null }) as unknown as DOMRectList;
  Range.prototype.getBoundingClientRect = empty as () => DOMRect;
});

function Harness({ onRun }: { onRun?: () => void }) {
  const [sql, setSql] = useState("SELECT 1");
  return (
    <>
      <SqlEditor value={sql} onChange={setSql} ariaLabel="Query" onRun={onRun} />
      <output aria-label="Current SQL">{sql}</output>
    </>
  );
}

describe("SqlEditor", () => {
  it("loads CodeMirror with SQL highlighting, named for assistive technology", async () => {
    const { container } = render(<Harness />);
    await waitFor(() => expect(container.querySelector(".cm-editor")).not.toBeNull());
    const box = screen.getByRole("textbox", { name: "Query" });
    expect(box).toHaveAttribute("contenteditable", "true");
    expect(box).toHaveTextContent("SELECT 1");
    expect(container.querySelector(".cm-content")).toBe(box);
  });

  it("is read-only when asked", async () => {
    const { container } = render(<SqlEditor value="SELECT 2" ariaLabel="Model SQL" readOnly />);
    await waitFor(() => expect(container.querySelector(".cm-editor")).not.toBeNull());
    expect(screen.getByRole("textbox", { name: "Model SQL" })).toHaveAttribute("contenteditable", "false");
  });

  it("runs on Ctrl+Enter", async () => {
    const onRun = vi.fn();
    const user = userEvent.setup();
    const { container } = render(<Harness onRun={onRun} />);
    await waitFor(() => expect(container.querySelector(".cm-editor")).not.toBeNull());
    await user.click(screen.getByRole("textbox", { name: "Query" }));
    await user.keyboard("{Control>}{Enter}{/Control}");
    expect(onRun).toHaveBeenCalledTimes(1);
  });

  it("has a plain text area (shown while CodeMirror loads) that edits and runs too", async () => {
    const onRun = vi.fn();
    const onChange = vi.fn();
    const user = userEvent.setup();
    render(<PlainSqlEditor value="SELECT 1" onChange={onChange} ariaLabel="Query" onRun={onRun} />);
    const box = screen.getByRole("textbox", { name: "Query" });
    await user.type(box, "0");
    expect(onChange).toHaveBeenLastCalledWith("SELECT 10");
    await user.keyboard("{Control>}{Enter}{/Control}");
    expect(onRun).toHaveBeenCalledTimes(1);
  });

  it("hands the focus and caret of the plain editor over to CodeMirror when it replaces it", async () => {
    const user = userEvent.setup();
    const { unmount } = render(<PlainSqlEditor value="SELECT 1" ariaLabel="Query" />);
    const box = screen.getByRole("textbox", { name: "Query" }) as HTMLTextAreaElement;
    await user.click(box);
    box.setSelectionRange(3, 3);
    unmount(); // what the swap does: the plain editor leaves the page with the focus
    expect(takeFallbackFocus()).toBe(3);
    expect(takeFallbackFocus()).toBeNull(); // once
  });
});
