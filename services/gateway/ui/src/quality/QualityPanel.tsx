// The "Quality" tab of a dataset's page: its rules (list and YAML), the results and their
// trend, the quarantine (release, replay) and the AI suggestions (dry run, accept, dismiss).
// The sub-tab is kept in the address (?quality=...), so a link can open it.
import { useSearchParams } from "react-router";
import { can, useMe } from "../auth/session";
import { Tabs } from "../components/Tabs";
import { QuarantineSection } from "./QuarantineSection";
import { ResultsSection } from "./ResultsSection";
import { RulesSection } from "./RulesSection";
import { SuggestionsSection } from "./SuggestionsSection";

const SECTIONS = ["results", "rules", "quarantine", "suggestions"] as const;
type Section = (typeof SECTIONS)[number];

export default function QualityPanel({ dataset }: { dataset: string }) {
  const me = useMe();
  const [params, setParams] = useSearchParams();
  const asked = params.get("quality") as Section | null;
  const current: Section = asked && SECTIONS.includes(asked) ? asked : "results";
  const operator = can(me.data, "operator");
  const admin = can(me.data, "admin");
  const choose = (id: string) => {
    const next = new URLSearchParams(params);
    next.set("quality", id);
    setParams(next, { replace: true });
  };
  return (
    <section aria-label={`Quality of ${dataset}`}>
      <Tabs
        label="Quality"
        current={current}
        onChange={choose}
        tabs={[
          { id: "results", label: "Results", render: () => <ResultsSection dataset={dataset} /> },
          { id: "rules", label: "Rules", render: () => <RulesSection dataset={dataset} admin={admin} /> },
          {
            id: "quarantine",
            label: "Quarantine",
            render: () => <QuarantineSection dataset={dataset} me={me.data} operator={operator} />,
          },
          {
            id: "suggestions",
            label: "AI suggestions",
            render: () => <SuggestionsSection dataset={dataset} operator={operator} admin={admin} />,
          },
        ]}
      />
    </section>
  );
}
