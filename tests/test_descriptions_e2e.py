"""Descriptions end to end: proposed offline for a landed file, accepted into the catalog,
edited by a person, served with the schema, exported as dbt-style docs and OpenLineage dataset
events, and carried by the next run's OpenLineage events (heard on the platform's NATS)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import nats
import pytest
import yaml

from flowforge.common.testing import openlineage_errors, unique, wait_for

pytestmark = pytest.mark.e2e
SCHEMAS = Path(__file__).parent / "schemas" / "openlineage"
ORDERS = (
    "Order ID,E-mail,Status,Amount\n"
    "1,ann@example.com,paid,10.50\n"
    "2,bob@example.org,cancelled,20.00\n"
    "3,cid@example.net,paid,5.25\n"
    "4,dee@example.com,refunded,7.75\n"
)


class Heard:
    """OpenLineage run events published on the platform's NATS, from a thread of its own."""

    def __init__(self, url: str):
        self.url = url
        self.events: list[dict] = []
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    async def _listen(self) -> None:
        nc = await nats.connect(self.url)

        async def got(msg) -> None:
            self.events.append(json.loads(msg.data))

        await nc.subscribe("openlineage.events", cb=got)
        await nc.flush()
        self.ready.set()
        await asyncio.to_thread(self.stop.wait)
        await nc.close()

    def __enter__(self) -> Heard:
        self.thread.start()
        assert self.ready.wait(30), "could not subscribe to openlineage.events"
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(10)


def test_descriptions_from_suggestion_to_catalog_docs_and_lineage(platform):
    dataset, model = unique("described"), unique("described_total")
    run = platform.land(ORDERS.encode(), "orders.csv", dataset=dataset)
    assert run["status"] == "succeeded", run
    with platform.client() as c:
        found = wait_for(
            lambda: next(
                (
                    s
                    for s in c.get(f"/api/v1/datasets/{dataset}/suggestions").json()["suggestions"]
                    if s["kind"] == "descriptions" and s["source"] == "offline"
                ),
                None,
            ),
            what="the offline descriptions suggestion",
        )
        proposed = found["payload"]
        assert set(proposed["columns"]) == {"order_id", "e_mail", "status", "amount"}
        assert "example" not in json.dumps(proposed)  # no PII value in a description
        assert "cancelled, paid, refunded" in proposed["columns"]["status"]
        # Nothing in the catalog before a person accepts it.
        schema = c.get(f"/api/v1/datasets/{dataset}/schema").json()
        assert schema["description"] is None
        assert all(col["description"] is None for col in schema["columns"])

        accepted = c.post(f"/api/v1/datasets/{dataset}/suggestions/{found['id']}/accept")
        assert accepted.status_code == 200, accepted.text
        schema = c.get(f"/api/v1/datasets/{dataset}/schema").json()
        assert schema["description"] == proposed["description"]
        described = {col["name"]: col["description"] for col in schema["columns"]}
        assert described["status"] == proposed["columns"]["status"]

        edited = c.put(
            f"/api/v1/datasets/{dataset}/descriptions",
            json={"columns": {"amount": "Order total in EUR, VAT included.", "status": ""}},
        )
        assert edited.status_code == 200, edited.text
        now = edited.json()
        assert now["columns"]["amount"]["description"] == "Order total in EUR, VAT included."
        assert now["columns"]["amount"]["source"] == "person"
        assert now["columns"]["amount"]["updated_by"]
        assert now["columns"]["e_mail"]["source"] == "offline"
        assert "status" not in now["columns"]  # an empty text removed it
        refused = c.put(
            f"/api/v1/datasets/{dataset}/descriptions", json={"columns": {"amnt": "typo"}}
        )
        assert refused.status_code == 400 and "amnt" in refused.json()["detail"]
        assert c.get(f"/api/v1/datasets/{dataset}/descriptions").json() == now
        audit = c.get("/api/v1/audit", params={"target": dataset}).json()
        assert any(
            e["path"].endswith("/descriptions") and e["status"] == 200 for e in audit["entries"]
        )

        sql = f"SELECT status, sum(amount) AS total FROM {dataset} GROUP BY status"
        assert c.post("/api/v1/models", json={"name": model, "sql": sql}).status_code == 201
        body = {"description": "Revenue by order status.", "columns": {"total": "Sum of amount."}}
        # Its columns are known once the catalog has recorded its first build.
        wait_for(
            lambda: c.put(f"/api/v1/models/{model}/descriptions", json=body).status_code == 200,
            what="the model's descriptions accepted",
        )

        dbt = c.get("/api/v1/catalog/docs", params={"format": "dbt"})
        assert dbt.status_code == 200 and dbt.headers["content-type"].startswith("application/yaml")
        doc = yaml.safe_load(dbt.text)
        table = next(t for t in doc["sources"][0]["tables"] if t["name"] == dataset)
        assert table["description"] == proposed["description"]
        amount = next(col for col in table["columns"] if col["name"] == "amount")
        assert amount["description"] == "Order total in EUR, VAT included."
        gold = next(m for m in doc["models"] if m["name"] == model)
        assert gold["description"] == "Revenue by order status."

        exported = c.get("/api/v1/catalog/docs", params={"format": "openlineage"}).json()
        mine = [e for e in exported["events"] if e["dataset"]["name"].endswith(f"/{dataset}")]
        assert len(mine) == 1
        for event in exported["events"]:
            assert openlineage_errors(event, SCHEMAS, kind="DatasetEvent") == [], event
        facets = mine[0]["dataset"]["facets"]
        assert facets["documentation"]["description"] == proposed["description"]

    nats_url = json.loads((platform.home / "run" / "endpoints.json").read_text())["nats_url"]
    with Heard(nats_url) as heard:
        more = ORDERS.encode().replace(b"10.50", b"11.50")
        again = platform.land(more, "more.csv", dataset=dataset)
        assert again["status"] == "succeeded", again

        def completed(job: str) -> dict | None:
            return next(
                (e for e in heard.events
                 if e["job"]["name"] == job and e["eventType"] == "COMPLETE"),
                None,
            )  # fmt: skip

        silver = wait_for(lambda: completed(f"silver.{dataset}"), what="silver's run event")
        built = wait_for(lambda: completed(f"gold.{model}"), what="the model's run event")
    for event in (silver, built):
        assert openlineage_errors(event, SCHEMAS) == [], event
    facets = silver["outputs"][0]["facets"]
    assert facets["documentation"]["description"] == proposed["description"]
    fields = {f["name"]: f.get("description") for f in facets["schema"]["fields"]}
    assert fields["amount"] == "Order total in EUR, VAT included."
    assert fields["status"] is None
    facets = built["outputs"][0]["facets"]
    assert facets["documentation"]["description"] == "Revenue by order status."
    assert {f["name"]: f.get("description") for f in facets["schema"]["fields"]}["total"] == (
        "Sum of amount."
    )
