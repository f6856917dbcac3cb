// PLACEHOLDER (being written this session): replaced by the real page.
export default function WorkflowPage() {
  return <h1>WorkflowPage</h1>;
}
