"""Whole-pipeline proposals (issue 18 part 2), asked of their owners: ingest reads the sample
(the first rows of a file or table, as Bronze), ai drafts and keeps the proposal, transform
dry-runs its Silver and starter model on the sample, quality its rules; accepting hands each
part to the service that acts on it, after the dry run said it can be used.

Parts are accepted in dependency order (a key and a source before the workflow that extracts
it); each is checked first, so an unusable part is refused with the reason and nothing of it
is saved, while the others go on."""

from __future__ import annotations

from typing import Any

from flowforge.common.errors import BadInputError, ConflictError, FlowForgeError
from flowforge.common.lake import proposal_key
from flowforge.gateway.deps import Gateway
from flowforge.gateway.owners import LONG

ORDER = ("key", "source", "silver", "rules", "model", "schedule")
SAMPLE_WAIT = 300.0  # reading a sample: a file's conversion, or a source's first rows
DRY_RUN_WAIT = 180.0


async def create(
    gw: Gateway, proposal_id: str, dataset: str, origin: dict[str, Any],
    sample: dict[str, Any], by: str,
) -> dict[str, Any]:  # fmt: skip
    """Sample, draft, dry-run: the proposal as kept (status `ready`, or `failed` with why)."""
    sampled = await gw.owners.ingest.ask(
        "sample.bronze", timeout=SAMPLE_WAIT, proposal=proposal_id, **sample
    )
    facts = {k: sampled.get(k) for k in ("rows", "parsed", "rejected", "format", "encoding",
                                          "delimiter", "source_types", "columns")}  # fmt: skip
    drafted = await gw.owners.ai.ask(
        "proposal.draft", timeout=LONG, id=proposal_id, dataset=dataset, origin=origin,
        bronze_key=sampled["bronze_key"], source_types=sampled.get("source_types") or {},
        table=sampled.get("table"), sample=facts, by=by,
    )  # fmt: skip
    try:
        tried, status, error = await dry_run(gw, drafted, drafted["parts"]), "ready", ""
    except FlowForgeError as exc:
        tried, status, error = {}, "failed", f"the dry run failed: {exc}"
    return await gw.owners.ai.ask(
        "proposal.dry_run", id=proposal_id, dry_run=tried, status=status, error=error
    )


def edited(proposal: dict[str, Any], edits: dict[str, Any] | None) -> dict[str, Any]:
    """The proposal's parts with a person's edits in place of the proposed ones."""
    parts = dict(proposal.get("parts") or {})
    for part, value in (edits or {}).items():
        if value is None:
            continue
        if part not in ORDER:
            raise BadInputError(f"{part!r} is not a part of a proposal ({', '.join(ORDER)})")
        if part == "source" and "source" not in parts:
            raise BadInputError("this proposal is for a file: it has no source part")
        parts[part] = value
    return parts


async def dry_run(gw: Gateway, proposal: dict[str, Any], parts: dict[str, Any]) -> dict:
    """Silver, quarantine and the starter model on the proposal's sample with these parts;
    `errors` says, by part, why one cannot be used."""
    pid, dataset = proposal["id"], proposal["dataset"]
    spec = parts.get("silver") or {}
    sample = proposal.get("sample") or {}
    silver = await gw.owners.transform.ask(
        "sample.silver", timeout=DRY_RUN_WAIT, bronze_key=proposal_key(pid, "bronze.parquet"),
        silver_key=proposal_key(pid, "silver.parquet"), key=list(parts.get("key") or []),
        renames=spec.get("renames") or {}, types=spec.get("types") or {},
        source_types=sample.get("source_types") or {},
    )  # fmt: skip
    errors = dict(silver.pop("errors", {}))
    quality = await gw.owners.quality.ask(
        "sample.rules", timeout=DRY_RUN_WAIT, silver_key=silver["silver_key"],
        quarantine_key=proposal_key(pid, "quarantine.parquet"),
        rules=list(parts.get("rules") or []), key=silver["key"],
        pii=list(proposal.get("pii") or []),
    )  # fmt: skip
    errors.update(quality.pop("errors", {}))
    model = None
    if parts.get("model"):
        model = await gw.owners.transform.ask(
            "sample.model", timeout=DRY_RUN_WAIT, dataset=dataset,
            name=parts["model"].get("name"), sql=parts["model"].get("sql"),
            silver_key=silver["silver_key"], quarantine_key=quality.get("quarantine_key"),
            key=silver["key"],
        )  # fmt: skip
        errors.update(model.pop("errors", {}))
    source = parts.get("source")
    if source and source.get("cursor") and source["cursor"] not in (sample.get("columns") or []):
        errors["source"] = f"the cursor {source['cursor']!r} is not a column of the table"
    return {"silver": silver, "quality": quality, "model": model, "errors": errors}


async def accept(
    gw: Gateway, proposal_id: str, wanted: list[str] | None, edits: dict[str, Any] | None,
    by: str,
) -> dict[str, Any]:  # fmt: skip
    """Apply the wanted parts (all offered by default) that the dry run finds usable."""
    proposal = await gw.owners.ai.ask("proposal.get", id=proposal_id)
    if proposal["status"] not in ("ready", "accepted", "partly_accepted"):
        raise ConflictError(
            f"proposal {proposal_id} is {proposal['status']}"
            + (f": {proposal['error']}" if proposal.get("error") else "")
        )
    parts = edited(proposal, edits)
    offered = [p for p in ORDER if parts.get(p)]
    wanted = list(dict.fromkeys(wanted or offered))
    missing = [p for p in wanted if p not in offered]
    if missing:
        raise BadInputError(f"this proposal has no {', '.join(missing)} part to accept")
    claimed = (await gw.owners.ai.ask("proposal.claim", id=proposal_id, parts=wanted,
                                      by=by))["claimed"]  # fmt: skip
    results: dict[str, dict[str, Any]] = {}
    try:
        checked = await dry_run(gw, proposal, parts) if claimed else {"errors": {}}
        for part in (p for p in ORDER if p in claimed):
            if part in checked["errors"]:
                results[part] = {"status": "refused", "reason": checked["errors"][part]}
                continue
            try:
                await _apply(gw, proposal["dataset"], part, parts[part])
            except FlowForgeError as exc:
                results[part] = {"status": "refused", "reason": str(exc)}
            else:
                results[part] = {"status": "accepted", "applied": parts[part]}
    finally:  # a part not reached (the owner did not answer) is open again
        results.update({p: {"status": "open"} for p in claimed if p not in results})
        decided = await gw.owners.ai.ask("proposal.decide", id=proposal_id, results=results,
                                         by=by)  # fmt: skip
    return {
        "id": proposal_id,
        "dataset": proposal["dataset"],
        "accepted": [p for p, r in results.items() if r["status"] == "accepted"],
        "refused": {p: r["reason"] for p, r in results.items() if r["status"] == "refused"},
        "already_accepted": [p for p in wanted if p not in claimed],
        "status": decided["status"],
        "decisions": decided["decisions"],
    }


async def _apply(gw: Gateway, dataset: str, part: str, value: Any) -> None:
    """One part, through its owner's own verb (each checks it again before storing)."""
    owners = gw.owners
    if part == "key":
        await owners.ingest.ask("dataset.put", name=dataset, key=list(value))
    elif part == "source":
        fields = ("connection", "table", "mode", "cursor", "lookback")
        await owners.ingest.ask("source.put", dataset=dataset, **{k: value.get(k) for k in fields})
    elif part == "silver":
        await owners.transform.ask("spec.put", dataset=dataset, merge=True,
                                   renames=value.get("renames") or {},
                                   types=value.get("types") or {})  # fmt: skip
    elif part == "rules":
        await _add_rules(gw, dataset, list(value))
    elif part == "model":
        await owners.transform.ask("models.put", name=value.get("name"), sql=value.get("sql"),
                                   description=value.get("description") or "")  # fmt: skip
    elif part == "schedule":
        await owners.scheduler.ask("workflow.put", timeout=60.0, name=value.get("name"),
                                   definition=dict(value))  # fmt: skip


async def _add_rules(gw: Gateway, dataset: str, rules: list[dict[str, Any]]) -> None:
    """The rules added to the dataset's in one replace (all or none); a rule of the same name
    that differs is a conflict, not overwritten."""
    existing = (await gw.owners.quality.ask("rules.get", dataset=dataset))["rules"]
    by_name = {r["name"]: r for r in existing}
    clash = [r["name"] for r in rules if r.get("name") in by_name and by_name[r["name"]] != r]
    if clash:
        raise ConflictError(
            f"dataset {dataset!r} already has different rules named {', '.join(clash)}; "
            "rename or delete them first"
        )
    new = [r for r in rules if r.get("name") not in by_name]
    await gw.owners.quality.ask("rules.put", dataset=dataset, rules={"rules": existing + new})
