"""A dataset fed from a source database (issue 13): its source, and extraction runs. Ingest
owns both; the gateway asks it. A workflow step requests the same extraction over NATS
(`flowforge.svc.ingest.extract`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from flowforge.gateway.deps import GatewayDep
from flowforge.gateway.params import DatasetName
from flowforge.gateway.schemas import ExtractAccepted, SourceBody, SourcePublic

router = APIRouter(prefix="/api/v1/datasets", tags=["sources"])
# Planning an incremental extract asks the source for its cursor's maximum.
PLAN_WAIT = 90.0


@router.put("/{name}/source", response_model=SourcePublic)
async def put_source(name: DatasetName, body: SourceBody, gw: GatewayDep) -> SourcePublic:
    """Feed the dataset from a table or a read-only query of a connection, in full or
    incrementally by a cursor column. A query that writes is refused here, before it reaches
    the database. The watermark is kept while the table/query and cursor stay the same."""
    saved = await gw.owners.ingest.ask(
        "source.put", dataset=name, **body.model_dump(exclude_none=True)
    )
    return SourcePublic.model_validate(saved)


@router.get("/{name}/source", response_model=SourcePublic)
async def get_source(name: DatasetName, gw: GatewayDep) -> SourcePublic:
    return SourcePublic.model_validate(await gw.owners.ingest.ask("source.get", dataset=name))


@router.post("/{name}/extract", status_code=status.HTTP_202_ACCEPTED,
             response_model=ExtractAccepted)  # fmt: skip
async def extract(name: DatasetName, request: Request, gw: GatewayDep) -> ExtractAccepted:
    """Start an extraction run: `run_id` follows it like an upload's run
    (GET /api/v1/runs/{run_id}). An incremental source reads from its watermark (less the
    lookback) to the cursor's maximum now."""
    principal = getattr(request.state, "principal", None)
    started = await gw.owners.ingest.ask(
        "extract", dataset=name, requested_by=getattr(principal, "actor", ""), timeout=PLAN_WAIT
    )
    # Recorded like an upload, so GET /runs/{run_id} answers "queued" (not 404) until the
    # catalog has the run's first event (no content: it matches no upload's hash).
    await gw.uploads.record(
        run_id=started["run_id"], dataset=started["dataset"],
        filename=started.get("filename") or f"extraction of {name}", size_bytes=0,
        content_hash="", landing_uri=started.get("landing_uri") or "source:",
    )  # fmt: skip
    return ExtractAccepted.model_validate(started)
