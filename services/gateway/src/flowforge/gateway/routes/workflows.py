"""Workflows (issue 14): definitions, runs now, backfills, pause and resume, run history.
The scheduler owns them (it fires their ticks and runs their steps); the gateway asks it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status

from flowforge.gateway.deps import GatewayDep
from flowforge.gateway.paging import Cursor, Limit, next_page
from flowforge.gateway.params import NAME_PATTERN, NAME_RULE
from flowforge.gateway.schemas import (
    BackfillAccepted,
    BackfillRequest,
    WorkflowBody,
    WorkflowList,
    WorkflowPublic,
    WorkflowRun,
    WorkflowRunPage,
    WorkflowRunRequest,
)

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows"])
WorkflowName = Annotated[
    str, Path(pattern=NAME_PATTERN, description=f"the workflow's name ({NAME_RULE})")
]
WorkflowRunId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="a workflow run's id")]
# Checking a definition asks the owners of the datasets and models it names.
CHECK_WAIT = 60.0


@router.get("", response_model=WorkflowList)
async def list_workflows(gw: GatewayDep) -> WorkflowList:
    """Every workflow with its state: paused, the last tick decided, the next one, the last
    run."""
    return WorkflowList.model_validate(await gw.owners.scheduler.ask("workflows.list"))


@router.put(
    "/{name}",
    response_model=WorkflowPublic,
    responses={201: {"model": WorkflowPublic, "description": "created (it did not exist)"}},
)
async def put_workflow(
    name: WorkflowName, body: WorkflowBody, response: Response, gw: GatewayDep
) -> WorkflowPublic:
    """Create or replace a workflow. Refused (400, naming the field) when a field is wrong,
    a step names a dataset or model that does not exist, or `needs` make a cycle."""
    definition = body.model_dump(exclude_none=True)
    saved = await gw.owners.scheduler.ask(
        "workflow.put", timeout=CHECK_WAIT, name=name, definition={"name": name, **definition}
    )
    if saved.pop("created"):
        response.status_code = status.HTTP_201_CREATED
    return WorkflowPublic.model_validate(saved)


@router.get("/{name}", response_model=WorkflowPublic)
async def get_workflow(name: WorkflowName, gw: GatewayDep) -> WorkflowPublic:
    return WorkflowPublic.model_validate(await gw.owners.scheduler.ask("workflow.get", name=name))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_workflow(name: WorkflowName, gw: GatewayDep) -> Response:
    """Remove a workflow; its queued runs are cancelled, running ones asked to stop."""
    await gw.owners.scheduler.ask("workflow.delete", name=name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/runs", status_code=status.HTTP_202_ACCEPTED, response_model=WorkflowRun)
async def run_workflow(
    name: WorkflowName, gw: GatewayDep, body: WorkflowRunRequest | None = None
) -> WorkflowRun:
    """Run now (trigger `manual`), for a logical interval if given: `logical_date` (the
    schedule's interval ending at or before it) or `logical_start`/`logical_end`."""
    request = body.model_dump(exclude_none=True, mode="json") if body else {}
    run = await gw.owners.scheduler.ask("workflow.run", name=name, **request)
    return WorkflowRun.model_validate(run)


@router.post(
    "/{name}/backfill", status_code=status.HTTP_202_ACCEPTED, response_model=BackfillAccepted
)
async def backfill_workflow(
    name: WorkflowName, body: BackfillRequest, gw: GatewayDep
) -> BackfillAccepted:
    """One run per interval of the schedule ending in (start, end] (trigger `backfill`),
    `max_active_runs` at a time."""
    answer = await gw.owners.scheduler.ask(
        "workflow.backfill", name=name, **body.model_dump(mode="json")
    )
    return BackfillAccepted.model_validate(answer)


@router.post("/{name}/pause", response_model=WorkflowPublic)
async def pause_workflow(name: WorkflowName, gw: GatewayDep) -> WorkflowPublic:
    """No more scheduled ticks until resumed (runs already going go on)."""
    return WorkflowPublic.model_validate(await gw.owners.scheduler.ask("workflow.pause", name=name))


@router.post("/{name}/resume", response_model=WorkflowPublic)
async def resume_workflow(name: WorkflowName, gw: GatewayDep) -> WorkflowPublic:
    """Ticks again, from now: ticks missed while paused are not owed."""
    return WorkflowPublic.model_validate(
        await gw.owners.scheduler.ask("workflow.resume", name=name)
    )


@router.get("/{name}/runs", response_model=WorkflowRunPage)
async def list_workflow_runs(
    name: WorkflowName,
    request: Request,
    response: Response,
    gw: GatewayDep,
    status: Annotated[
        Literal["queued", "running", "succeeded", "failed", "cancelled", "skipped"] | None,
        Query(description="only runs in this state"),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> WorkflowRunPage:
    """The workflow's runs, newest first, with their steps."""
    page = await gw.owners.scheduler.ask(
        "runs.list", name=name, status=status, limit=limit, cursor=cursor
    )
    return WorkflowRunPage(runs=page["runs"], **next_page(request, response, page["next_cursor"]))


@router.get("/{name}/runs/{run_id}", response_model=WorkflowRun)
async def get_workflow_run(
    name: WorkflowName, run_id: WorkflowRunId, gw: GatewayDep
) -> WorkflowRun:
    """One run with its steps (status, attempts, errors, pipeline runs) and the alerts sent."""
    return WorkflowRun.model_validate(
        await gw.owners.scheduler.ask("run.get", name=name, run_id=run_id)
    )


@router.post("/{name}/runs/{run_id}/cancel", response_model=WorkflowRun)
async def cancel_workflow_run(
    name: WorkflowName, run_id: WorkflowRunId, gw: GatewayDep
) -> WorkflowRun:
    """Cancel a queued run at once, or a running one at its next step boundary."""
    return WorkflowRun.model_validate(
        await gw.owners.scheduler.ask("run.cancel", name=name, run_id=run_id)
    )
