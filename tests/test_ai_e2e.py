"""AI schema detection end to end: offline with no key (types, PII, suggestions within seconds,
accepting them into configuration), and with keys against a local fake of both LLM APIs
(Claude used first, OpenAI when Claude fails, PII masked in what is sent)."""

from __future__ import annotations

import time

import pytest

from flowforge.common.testing import FakeLLM, unique, wait_for

pytestmark = pytest.mark.e2e

CUSTOMERS = (
    "Customer ID,Full Name,E-mail,Phone,Card,Signup,Spend,Tier\n"
    "1001,Ann Lee,ann.lee@example.com,+1 415 555 0101,4111 1111 1111 1111,2024-01-05,10.50,gold\n"
    "1002,Bob Stone,bob@example.org,(415) 555-0102,5500 0000 0000 0004,2024-01-06,20.00,silver\n"
    "1003,Cid Moreau,cid.m@example.net,+33 1 42 68 53 00,3400 0000 0000 009,2024-02-01,5.25,gold\n"
    "1004,Dee Park,dee.park@example.com,415.555.0104,4012 8888 8888 1881,2024-03-01,7.75,bronze\n"
    "1005,Eve Adams,eve@example.com,+44 20 7946 0958,6011 1111 1111 1117,2024-03-02,-3.00,silver\n"
    "1006,Fay Wong,fay.wong@example.org,+1 212 555 0199,4111 1111 1111 1111,2024-03-03,99.00,gold\n"
)


def columns_of(analysis: dict) -> dict[str, dict]:
    return {c["name"]: c for c in analysis["columns"]}


def test_without_a_key_the_offline_detector_types_flags_and_suggests(any_platform):
    platform = any_platform
    dataset = unique("customers")
    run = platform.land(CUSTOMERS.encode(), "customers.csv", dataset=dataset)
    assert run["status"] == "succeeded", run
    with platform.client() as c:
        found = wait_for(
            lambda: (a := c.get(f"/api/v1/datasets/{dataset}/suggestions").json())["columns"] and a,
            what="offline analysis",
        )
        columns = columns_of(found)
        assert columns["E-mail"]["offline"]["semantic_type"] == "email"
        assert columns["E-mail"]["offline"]["pii"] is True
        assert columns["Card"]["offline"]["semantic_type"] == "credit_card"
        assert columns["Card"]["offline"]["pii"] is True
        assert columns["Phone"]["offline"]["pii"] is True
        assert columns["Customer ID"]["offline"]["silver_name"] == "customer_id"
        assert all("llm" not in col for col in columns.values()) and found["llm"] is None

        suggestions = found["suggestions"]
        assert suggestions and all(s["source"] == "offline" for s in suggestions)
        assert all(s["status"] == "open" for s in suggestions)
        email_rule = next(
            s for s in suggestions if s["kind"] == "rule" and s["payload"].get("format") == "email"
        )
        assert email_rule["payload"]["column"] == "e_mail"
        assert email_rule["payload"]["action"] == "warn"
        # Nothing changed yet: no rule exists until a person accepts one.
        assert c.get(f"/api/v1/datasets/{dataset}/rules").json()["rules"] == []

        tried = c.post(f"/api/v1/datasets/{dataset}/suggestions/{email_rule['id']}/dry-run")
        assert tried.status_code == 200, tried.text
        assert tried.json()["failed_rows"] == 0 and tried.json()["total_rows"] == 6

        accepted = c.post(f"/api/v1/datasets/{dataset}/suggestions/{email_rule['id']}/accept")
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["dry_run"]["total_rows"] == 6
        rules = c.get(f"/api/v1/datasets/{dataset}/rules").json()["rules"]
        assert [r["format"] for r in rules] == ["email"]
        again = c.post(f"/api/v1/datasets/{dataset}/suggestions/{email_rule['id']}/accept")
        assert again.status_code == 409

        key = next((s for s in suggestions if s["kind"] == "key"), None)
        assert key is not None and key["payload"]["columns"] == ["customer_id"]
        assert (
            c.post(f"/api/v1/datasets/{dataset}/suggestions/{key['id']}/accept").status_code == 200
        )
        listed = c.get(f"/api/v1/datasets/{dataset}/suggestions").json()["suggestions"]
        assert {s["id"]: s["status"] for s in listed}[key["id"]] == "accepted"

        profile = c.get(f"/api/v1/datasets/{dataset}/profile").json()
        tier = next(col for col in profile["columns"] if col["name"] == "Tier")
        assert tier["rows"] == 6 and tier["distinct"] == 3 and "gold" in tier["sample"]
        email = next(col for col in profile["columns"] if col["name"] == "E-mail")
        assert email["masked"] and "ann.lee@example.com" not in str(email)
        assert "aaa.aaa@aaaaaaa.aaa" in email["sample"]

    # The next file lands with the accepted key: the key is applied by Silver (latest wins).
    again = platform.land(CUSTOMERS.encode(), "customers.csv", dataset=dataset, force="true")
    assert again["status"] == "succeeded"
    assert again["counts"]["duplicates"] == 0 and again["counts"]["silver"] == 6


def test_with_keys_claude_is_used_and_openai_takes_over_when_it_fails(fresh_platform):
    fake = FakeLLM().start()
    try:
        p = fresh_platform(
            ANTHROPIC_API_KEY="test-anthropic",
            ANTHROPIC_BASE_URL=fake.anthropic_url,
            OPENAI_API_KEY="test-openai",
            OPENAI_BASE_URL=fake.openai_url,
            FLOWFORGE_AI_MODEL="claude-test",
            FLOWFORGE_AI_OPENAI_MODEL="gpt-test",
        )
        dataset = unique("customers")
        assert p.land(CUSTOMERS.encode(), "c.csv", dataset=dataset)["status"] == "succeeded"
        with p.client() as c:
            found = wait_for(
                lambda: (a := c.get(f"/api/v1/datasets/{dataset}/suggestions").json())["llm"] and a,
                what="LLM analysis",
            )
            assert found["llm"]["source"] == "anthropic:claude-test"
            assert columns_of(found)["E-mail"]["llm"]["suggested_name"] == "e_mail"
            assert {s["source"] for s in found["suggestions"]} >= {
                "offline",
                "anthropic:claude-test",
            }
            sent = fake.requests["anthropic"][0]["messages"][0]["content"]
            assert "ann.lee@example.com" not in sent and "4111 1111" not in sent  # masked
            assert "Ann Lee" not in sent  # person names are PII too
            assert not fake.requests["openai"]

            # The same schema again is answered from the cache: no new call.
            assert (
                p.land(CUSTOMERS.encode(), "c.csv", dataset=dataset, force="true")["status"]
                == "succeeded"
            )
            time.sleep(2)
            assert len(fake.requests["anthropic"]) == 1

            # Claude failing (500, then 429 on the retry path): OpenAI answers.
            fake.script["anthropic"] = ["500"]
            analysed = p.finish(
                c.post(f"/api/v1/datasets/{dataset}/analyze", json={"refresh": True})
            )
            assert analysed["llm"]["source"] == "openai:gpt-test"
            attempts = analysed["llm"]["attempts"]
            assert [a["outcome"] for a in attempts] == ["error", "ok"]
            assert "HTTP 500" in attempts[0]["reason"]
            assert len(fake.requests["openai"]) == 1
            text = fake.requests["openai"][0]["messages"][1]["content"]
            assert "ann.lee@example.com" not in text

        # Secrets never reach logs.
        for service in ("ai", "gateway"):
            log = p.log(service)
            assert "test-anthropic" not in log and "test-openai" not in log
    finally:
        fake.stop()
