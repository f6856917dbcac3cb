"""The Grafana dashboard and Prometheus rules in deploy/: they parse, and every metric and label
their queries name is one the services export (FlowForge's registry, FastStream's Prometheus
middleware), so a renamed metric cannot leave a silent panel or an alert that never fires.

Kept apart from test_deploy.py (the manifests) to keep both files readable. `promtool` checks
and unit-tests the rules where it is installed (Debian's `prometheus` package has it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from faststream.prometheus.container import MetricsContainer
from prometheus_client import CollectorRegistry

from flowforge.common import metrics

try:  # where the list of services lives once the topology module lands on main
    from flowforge.common.topology import SERVICES
except ImportError:
    from flowforge.common.events import SERVICES

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy/grafana/flowforge.json"
PROMETHEUS = ROOT / "deploy/prometheus"

# The metrics contract of issue 10: name -> (type, labels). The names not yet registered by
# flowforge.common.metrics are listed in PENDING until the code that exports them lands.
CONTRACT = {
    "flowforge_messages_total": ("counter", {"service", "subject", "outcome"}),
    "flowforge_handler_seconds": ("histogram", {"service", "subject"}),
    "flowforge_stage_seconds": ("histogram", {"service", "stage"}),
    "flowforge_rows_total": ("counter", {"service", "stage", "kind"}),
    "flowforge_bytes_total": ("counter", {"service", "stage"}),
    "flowforge_http_requests_total": ("counter", {"route", "method", "status"}),
    "flowforge_http_request_seconds": ("histogram", {"route", "method", "status"}),
    "flowforge_consumer_pending": ("gauge", {"service", "consumer"}),
    "flowforge_consumer_ack_pending": ("gauge", {"service", "consumer"}),
    "flowforge_consumer_redelivered": ("gauge", {"service", "consumer"}),
}
PENDING = {
    "flowforge_bytes_total",
    "flowforge_http_request_seconds",
    "flowforge_consumer_pending",
    "flowforge_consumer_ack_pending",
    "flowforge_consumer_redelivered",
}
# Labels Prometheus adds to every series from the scrape configs in deploy/prometheus.
TARGET_LABELS = {"job", "instance", "namespace", "pod"}
PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
GROUPING = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)"


def described(registry_metrics) -> dict[str, tuple[str, set[str]]]:
    """name -> (type, labels) of prometheus_client metric objects (labels are not public)."""
    found = {}
    for metric in registry_metrics:
        name = metric._name + ("_total" if metric._type == "counter" else "")
        found[name] = (metric._type, set(metric._labelnames))
    return found


def faststream_metrics() -> dict[str, tuple[str, set[str]]]:
    container = MetricsContainer(CollectorRegistry(), custom_label_names=[])
    slots = [s for s in MetricsContainer.__slots__ if not s.startswith("_")]
    return described(getattr(container, s) for s in slots)


def exposed() -> dict[str, set[str]]:
    """Every series name a query may use -> its labels (histograms as _bucket, _sum, _count)."""
    names = {"up": {"service"}}
    for name, (kind, labels) in {**CONTRACT, **faststream_metrics()}.items():
        if kind == "histogram":
            names |= {f"{name}_bucket": labels | {"le"}, f"{name}_sum": labels}
            names[f"{name}_count"] = labels
        else:
            names[name] = labels
    return names


def parse(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, label names) of a PromQL expression; Grafana's $variables removed."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    labels = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"", expr))
    for clause in re.findall(GROUPING, expr):
        labels |= {w.strip() for w in clause.split(",") if w.strip()}
    bare = re.sub(GROUPING, "", re.sub(r"\{[^}]*\}|\[[^\]]*\]|\$\w+", "", expr))
    words = re.finditer(
        r"\b([A-Za-z_:][\w:]*)\b(?!\s*\()", bare
    )  # not followed by "(": no function
    return {m[1] for m in words if m[1].lower() not in PROMQL_WORDS}, labels


def assert_known(expr: str, where: str) -> None:
    known = exposed()
    names, labels = parse(expr)
    assert names, f"{where}: no metric in {expr!r}"
    unknown = names - known.keys()
    assert not unknown, f"{where}: unknown metric(s) {unknown}"
    allowed = set().union(*(known[n] for n in names)) | TARGET_LABELS
    assert labels <= allowed, f"{where}: label(s) {labels - allowed} not on {names}"


def test_the_contract_is_what_the_services_register():
    registered = described(metrics.REGISTRY._collector_to_names)
    # FastStream's middleware may share the registry; its names are checked by faststream_metrics.
    registered = {k: v for k, v in registered.items() if k.startswith("flowforge_")}
    for name, (kind, labels) in registered.items():
        assert CONTRACT.get(name) == (kind, labels), f"{name} differs from the contract"
    assert CONTRACT.keys() - registered.keys() <= PENDING


def test_the_parser_finds_metrics_and_labels_and_rejects_unknown_ones():
    expr = (
        "histogram_quantile(0.95, sum by (service, le)"
        ' (rate(flowforge_stage_seconds_bucket{stage="x"}[5m])))'
    )
    assert parse(expr) == ({"flowforge_stage_seconds_bucket"}, {"service", "le", "stage"})
    with pytest.raises(AssertionError, match="unknown metric"):
        assert_known("rate(flowforge_message_total[5m])", "typo")
    with pytest.raises(AssertionError, match="label"):
        assert_known("sum by (app_name) (flowforge_consumer_pending)", "wrong label")


def test_the_dashboard_parses_and_queries_only_known_metrics():
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert_known(target["expr"], f"panel {panel['title']!r}")
            used = set(re.findall(r"\$(\w+)", target["expr"])) - {"__rate_interval", "__range"}
            assert used <= variables, f"panel {panel['title']!r} uses undefined {used}"
    queried = " ".join(t["expr"] for p in panels for t in p["targets"])
    for wanted in ("flowforge_consumer_pending", "faststream_received_messages_in_process",
                   "flowforge_http_request_seconds_bucket", 'outcome="dead_lettered"',
                   "flowforge_rows_total", "flowforge_consumer_redelivered"):  # fmt: skip
        assert wanted in queried, f"the dashboard shows no {wanted}"


def rules() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yaml").read_text())["groups"]
    assert groups and all(g["name"] and g["rules"] for g in groups)
    return [rule for group in groups for rule in group["rules"]]


def test_the_alert_rules_are_well_formed_and_query_only_known_metrics():
    alerts = rules()
    names = [r["alert"] for r in alerts]
    assert len(names) == len(set(names))
    for rule in alerts:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
        assert re.fullmatch(r"(\d+[smhdw])+", rule.get("for", "0s")), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert {"summary", "description"} <= rule["annotations"].keys()
        assert_known(rule["expr"], f"alert {rule['alert']}")
    for wanted in ("ConsumerLag", "DeadLetters", "HandlerErrorRate", "ServiceDown", "Http5xx",
                   "SlowStage"):  # fmt: skip
        assert any(wanted in n for n in names), f"no alert for {wanted}"


def test_the_scrape_configs_label_targets_as_the_rules_expect():
    for name in ("prometheus.yml", "prometheus-kubernetes.yml"):
        config = yaml.safe_load((PROMETHEUS / name).read_text())
        assert config["rule_files"] == ["alerts.yaml"]
        (job,) = config["scrape_configs"]
        assert job["job_name"] == "flowforge" and job["honor_labels"] is True
    compose = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["scrape_configs"][0]
    ports = {name: c["port"] for c in compose["dns_sd_configs"] for name in c["names"]}
    assert ports == {"gateway": 8000, **{s: 9100 for s in SERVICES if s != "gateway"}}
    assert compose["relabel_configs"][0]["target_label"] == "service"


def promtool() -> str | None:
    return os.environ.get("PROMTOOL") or shutil.which("promtool")


@pytest.mark.skipif(not promtool(), reason="promtool is not installed")
@pytest.mark.parametrize(
    "args",
    [
        ["check", "rules", "alerts.yaml"],
        ["check", "config", "prometheus.yml"],
        ["test", "rules", "alerts.test.yaml"],
    ],  # fmt: skip
)
def test_promtool_accepts_the_rules_and_their_unit_tests(args):
    done = subprocess.run(
        [promtool(), *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
