import { stepsOf } from "./api";
import { layoutSteps } from "./WorkflowGraph";

describe("layoutSteps", () => {
  it("draws one edge per need and places a step right of what it needs", () => {
    const steps = stepsOf({
      steps: [
        { name: "extract", extract: "orders" },
        { name: "files", pickup: "drops" },
        { name: "models", build: ["revenue", "margin"], needs: ["extract", "files"] },
      ],
    });
    expect(steps[2]).toMatchObject({ kind: "build", target: "revenue, margin", needs: ["extract", "files"] });
    const { nodes, edges } = layoutSteps(steps, { extract: "succeeded" });
    expect(edges.map((e) => e.id).sort()).toEqual(["extract->models", "files->models"]);
    const x = Object.fromEntries(nodes.map((n) => [n.id, n.position.x]));
    expect(x.models).toBeGreaterThan(x.extract);
    expect(x.models).toBeGreaterThan(x.files);
    expect(String(nodes[0].style?.border)).toContain("var(--ok)");
  });
});
