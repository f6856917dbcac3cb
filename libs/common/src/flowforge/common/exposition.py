"""Several processes' Prometheus expositions merged into one, for a single scrape target.

Each service's text is parsed, every sample without a `service` label gets one (FastStream's
`faststream_*` families label by `app_name`, not `service`), families of the same name are
joined, and the whole is rendered again by prometheus_client: one HELP/TYPE per family, as a
valid exposition must have. `flowforge_service_up{service}` says which services answered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger(__name__)


class _Families:
    def __init__(self, families: Iterable[Metric]):
        self.families = list(families)

    def collect(self) -> list[Metric]:
        return self.families


def merge_expositions(texts: Mapping[str, str | None]) -> str:
    """One exposition of `{service: its text}`; a service whose text is None did not answer."""
    families: dict[str, Metric] = {}
    seen: set[tuple[str, tuple]] = set()
    for service, text in texts.items():
        for family in _parse(service, text or ""):
            merged = families.setdefault(
                family.name, Metric(family.name, family.documentation, family.type, family.unit)
            )
            if merged.type != family.type:
                log.warning("metric %s is a %s in %s, not a %s; skipped", family.name,
                            family.type, service, merged.type)  # fmt: skip
                continue
            for sample in family.samples:
                labels = sample.labels if "service" in sample.labels else (
                    {"service": service} | sample.labels)  # fmt: skip
                identity = (sample.name, tuple(sorted(labels.items())))
                if identity not in seen:
                    seen.add(identity)
                    merged.samples.append(sample._replace(labels=labels))
    up = Metric("flowforge_service_up", "1 when the service answered the metrics request.", "gauge")
    for service, text in texts.items():
        up.add_sample("flowforge_service_up", {"service": service}, float(text is not None))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families([*families.values(), up]))
    return generate_latest(registry).decode()


def _parse(service: str, text: str) -> list[Metric]:
    try:
        return list(text_string_to_metric_families(text))
    except ValueError as exc:
        log.warning("metrics of %s could not be parsed: %s", service, exc)
        return []
