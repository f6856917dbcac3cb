"""Whole-pipeline proposals (issue 18 part 2): for a new file or database table, one reviewed
proposal (key, a table's cursor and lookback, Silver spec, rules, a starter Gold model, a
schedule) with its dry run on a sample, accepted as a whole or in parts, each acceptance in
the audit log. Operators propose and dry-run; admins accept (as with suggestions)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from flowforge.common import lake
from flowforge.common.errors import BadInputError
from flowforge.gateway import proposals
from flowforge.gateway.audit import note
from flowforge.gateway.deps import Gateway, GatewayDep
from flowforge.gateway.landing import LandingRoute
from flowforge.gateway.params import NAME_PATTERN, ConnectionName
from flowforge.gateway.pii import mask_row, sees_pii
from flowforge.gateway.routes.files import _check_encoding, _spool, dataset_name, safe_filename
from flowforge.gateway.routes.jobs import ACCEPTED, accept

# A table's proposal is asked of its connection (beside its tables and preview); a file's is
# posted to the proposals, as a file to the files.
router = APIRouter(tags=["proposals"], route_class=LandingRoute)
P = "/api/v1/proposals"
ProposalId = Annotated[str, Path(pattern=r"^[a-f0-9]{32}$", description="a proposal's id")]
Part = Literal["key", "source", "silver", "rules", "model", "schedule"]
SampleRows = Annotated[int, Field(ge=1, le=100_000, description="rows of the sample (10,000)")]


class TableProposalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    table: str = Field(min_length=1, max_length=300, description="`schema.table` or `table`")
    dataset: str | None = Field(None, max_length=100, description="default: the table's name")
    rows: SampleRows = 10_000


class ProposalEdits(BaseModel):
    """Parts given here replace the proposed ones (in the proposal's shapes)."""

    model_config = ConfigDict(extra="forbid")

    key: list[str] | None = None
    source: dict[str, Any] | None = Field(None, description="connection, table, mode, cursor, "
                                          "lookback")  # fmt: skip
    silver: dict[str, Any] | None = Field(None, description="renames, types")
    rules: list[dict[str, Any]] | None = None
    model: dict[str, Any] | None = Field(None, description="name, sql")
    schedule: dict[str, Any] | None = Field(None, description="a workflow definition")


class ProposalAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parts: list[Part] | None = Field(None, description="the parts to accept (default: all)")
    edits: ProposalEdits | None = None


class ProposalPublic(BaseModel):
    """A proposal: its parts and why, what the LLM proposed that was refused, the columns as
    analysed, the dry run on the sample, and each part's decision."""

    id: str
    dataset: str
    origin: dict[str, Any]
    status: Literal["drafted", "ready", "failed", "accepted", "partly_accepted"]
    source: str
    parts: dict[str, Any] | None = None
    reasons: dict[str, str] | None = None
    refused: list[dict[str, Any]] | None = None
    columns: list[dict[str, Any]] | None = None
    pii: list[str] | None = None
    llm: dict[str, Any] | None = None
    sample: dict[str, Any] = Field(default_factory=dict)
    dry_run: dict[str, Any] | None = None
    decisions: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    created_by: str = ""
    created_at: Any = None
    updated_at: Any = None


class ProposalList(BaseModel):
    proposals: list[ProposalPublic]


class ProposalAccepted(BaseModel):
    id: str
    dataset: str
    accepted: list[str]
    refused: dict[str, str]
    already_accepted: list[str]
    status: str
    decisions: dict[str, Any]


def _by(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    return getattr(principal, "actor", "")


async def _start(gw: Gateway, request: Request, pid: str, dataset: str, origin: dict,
                 sample: dict) -> JSONResponse:  # fmt: skip
    by = _by(request)

    async def work() -> dict[str, Any]:
        done = await proposals.create(gw, pid, dataset, origin, sample, by)
        return {"id": pid, "dataset": dataset, "status": done["status"], "error": done["error"],
                "location": f"/api/v1/proposals/{pid}"}  # fmt: skip

    note(request, target=f"proposal/{pid}", detail={"proposal": pid, "origin": origin})
    return await accept(gw, request, "proposal", dataset, {"proposal": pid, **origin}, work)


@router.post(P, status_code=202, responses=ACCEPTED)
async def propose_for_file(
    request: Request,
    gw: GatewayDep,
    file: Annotated[UploadFile, File(description="a sample of the data (CSV, Excel, ...)")],
    dataset: Annotated[str | None, Form(description="default: the file's stem")] = None,
    sheet: Annotated[str | None, Form(description="an Excel workbook's sheet")] = None,
    encoding: Annotated[
        str | None,
        Form(
            pattern=r"^[A-Za-z][A-Za-z0-9_.:-]{0,39}$", description="default: detected"
        ),  # fmt: skip
    ] = None,
    rows: Annotated[int, Form(ge=1, le=100_000, description="rows of the sample")] = 10_000,
) -> JSONResponse:
    """Propose a whole pipeline for a new file: a job; its result names the proposal (then at
    GET /api/v1/proposals/{id}). Nothing is configured until an admin accepts it."""
    filename = safe_filename(file.filename)
    name = dataset_name(dataset, filename)
    if encoding:
        _check_encoding(encoding)
    pid = uuid.uuid4().hex
    settings = gw.settings
    spooled, size, _ = await asyncio.to_thread(_spool, file, settings.upload_limit_bytes)
    try:
        if size == 0:
            raise BadInputError(f"{filename}: the file is empty")
        key = lake.proposal_key(pid, filename)
        await asyncio.to_thread(gw.store.move_file, key, spooled)
    finally:
        await asyncio.to_thread(spooled.unlink, True)
    origin = {"kind": "file", "filename": filename, "size_bytes": size}
    sample = {"key": key, "filename": filename, "sheet": sheet, "encoding": encoding, "rows": rows}
    return await _start(gw, request, pid, name, origin, sample)


@router.post("/api/v1/connections/{name}/proposals", status_code=202, responses=ACCEPTED)
async def propose_for_table(
    name: ConnectionName, body: TableProposalCreate, request: Request, gw: GatewayDep
) -> JSONResponse:
    """Propose a whole pipeline for a table of a source connection (its first `rows` rows are
    the sample, read read-only): a job naming the proposal. No password is ever part of it."""
    await gw.owners.ingest.ask("connection.get", name=name)  # 404 now, not later
    given = body.dataset or body.table.rpartition(".")[2]
    dataset = lake.given_name(given, "dataset") if body.dataset else lake.normalise_name(given)
    dataset = lake.check_name(dataset, "dataset")
    origin = {"kind": "table", "connection": name, "table": body.table}
    sample = {"connection": name, "table": body.table, "rows": body.rows}
    return await _start(gw, request, uuid.uuid4().hex, dataset, origin, sample)


@router.get(P, response_model=ProposalList)
async def list_proposals(
    gw: GatewayDep,
    dataset: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ProposalList:
    """Proposals, newest first (their dry-run previews left out: see each one)."""
    found = await gw.owners.ai.ask("proposal.list", dataset=dataset, limit=limit)
    for p in found["proposals"]:
        p["dry_run"] = None
    return ProposalList.model_validate(found)


def _for_viewer(proposal: dict[str, Any]) -> dict[str, Any]:
    """Preview values of PII columns as shapes (the rule examples come masked from quality)."""
    pii = set(proposal.get("pii") or [])
    tried = proposal.get("dry_run") or {}
    for part in ("silver", "model"):
        found = tried.get(part) or {}
        if found.get("preview"):
            found["preview"] = [mask_row(row, pii) for row in found["preview"]]
    return proposal


@router.get(P + "/{proposal_id}", response_model=ProposalPublic)
async def get_proposal(proposal_id: ProposalId, request: Request, gw: GatewayDep) -> Any:
    """The proposal with its dry run (values of PII columns shown as shapes to viewers)."""
    found = await gw.owners.ai.ask("proposal.get", id=proposal_id)
    return found if sees_pii(request) else _for_viewer(found)


@router.post(P + "/{proposal_id}/dry-run")
async def dry_run_proposal(
    proposal_id: ProposalId, request: Request, gw: GatewayDep, body: ProposalEdits | None = None
) -> dict[str, Any]:
    """The dry run again with edited parts (nothing is stored): Silver, quarantine and the
    starter model on the sample, and by part why one cannot be used."""
    found = await gw.owners.ai.ask("proposal.get", id=proposal_id)
    parts = proposals.edited(found, body.model_dump(exclude_none=True) if body else None)
    tried = await proposals.dry_run(gw, found, parts)
    shown = {**found, "dry_run": tried}
    return (shown if sees_pii(request) else _for_viewer(shown))["dry_run"]


@router.post(P + "/{proposal_id}/accept", response_model=ProposalAccepted)
async def accept_proposal(
    proposal_id: ProposalId, request: Request, gw: GatewayDep, body: ProposalAccept | None = None
) -> ProposalAccepted:
    """Accept the proposal as a whole or the `parts` named, with `edits` in place of proposed
    parts. Each part is tried on the sample first and handed to its owner (key and source:
    ingest; Silver spec and model: transform; rules: quality; schedule: scheduler); a part
    that cannot be used is refused with the reason and nothing of it is saved."""
    body = body or ProposalAccept()
    edits = body.edits.model_dump(exclude_none=True) if body.edits else None
    done = await proposals.accept(gw, proposal_id, body.parts, edits, _by(request))
    note(
        request,
        target=f"proposal/{proposal_id}",
        after={p: done["decisions"][p].get("applied") for p in done["accepted"]},
        detail={
            "proposal": proposal_id,
            "dataset": done["dataset"],
            "accepted": done["accepted"],
            "refused": done["refused"],
        },  # fmt: skip
    )
    return ProposalAccepted.model_validate(done)
