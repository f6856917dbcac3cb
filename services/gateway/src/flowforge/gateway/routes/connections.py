"""Source database connections (issue 13). Ingest owns them (it connects and extracts); the
gateway asks it. A password goes in and never comes out: answers say `has_password`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from flowforge.common.errors import BadInputError, ConflictError, NotFoundError
from flowforge.gateway.deps import GatewayDep
from flowforge.gateway.params import ConnectionName
from flowforge.gateway.schemas import (
    ConnectionBody,
    ConnectionCreate,
    ConnectionList,
    ConnectionPublic,
    ConnectionTest,
    PreviewPublic,
    TableList,
)

router = APIRouter(prefix="/api/v1/connections", tags=["sources"])
# Connecting (up to `connect_timeout`, 60 s at most) and reading the catalog: the request's own
# time limit (FLOWFORGE_REQUEST_TIMEOUT) is what the client sees first.
SOURCE_WAIT = 90.0


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ConnectionPublic)
async def create_connection(body: ConnectionCreate, gw: GatewayDep) -> ConnectionPublic:
    """Add a source database. The password is sealed at rest with a key kept outside the
    database, and never shown again."""
    await _refuse_existing(gw, body.name)
    saved = await gw.owners.ingest.ask("connection.put", **body.model_dump(exclude_none=True))
    return ConnectionPublic.model_validate(saved["connection"])


@router.get("", response_model=ConnectionList)
async def list_connections(gw: GatewayDep) -> ConnectionList:
    return ConnectionList.model_validate(await gw.owners.ingest.ask("connections.list"))


@router.get("/{name}", response_model=ConnectionPublic)
async def get_connection(name: ConnectionName, gw: GatewayDep) -> ConnectionPublic:
    return ConnectionPublic.model_validate(await gw.owners.ingest.ask("connection.get", name=name))


@router.put(
    "/{name}",
    response_model=ConnectionPublic,
    responses={201: {"model": ConnectionPublic, "description": "created (it did not exist)"}},
)
async def put_connection(
    name: ConnectionName, body: ConnectionBody, response: Response, gw: GatewayDep
) -> ConnectionPublic:
    """Create or replace a connection; leave `password` out to keep the one stored."""
    if body.name is not None and body.name != name:
        raise BadInputError(f"the body names {body.name!r} but the path {name!r}")
    saved = await gw.owners.ingest.ask(
        "connection.put", name=name, **body.model_dump(exclude_none=True, exclude={"name"})
    )
    if saved["created"]:
        response.status_code = status.HTTP_201_CREATED
    return ConnectionPublic.model_validate(saved["connection"])


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_connection(name: ConnectionName, gw: GatewayDep) -> Response:
    await gw.owners.ingest.ask("connection.delete", name=name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/test", response_model=ConnectionTest)
async def test_connection(name: ConnectionName, gw: GatewayDep) -> ConnectionTest:
    """Connect and ask the server's version: `ok` with the version, connect time and round
    trip; or `ok: false` with the error classified (`host_unreachable`, `timeout`,
    `auth_failed`, `database_not_found`, `tls_required`, `tls_unavailable`, `unsupported`,
    `error`) and what it means."""
    return ConnectionTest.model_validate(
        await gw.owners.ingest.ask("connection.test", name=name, timeout=SOURCE_WAIT)
    )


@router.get("/{name}/tables", response_model=TableList)
async def list_tables(
    name: ConnectionName,
    gw: GatewayDep,
    schema: Annotated[
        str | None,
        Query(
            max_length=128,
            description="only this schema (MySQL: database); default: all "
            "a PostgreSQL user may read, or the connection's database",
        ),
    ] = None,
) -> TableList:
    """Tables and views the connection's user may read: columns with types and nullability,
    the primary key, and the server's row estimate."""
    found = await gw.owners.ingest.ask(
        "connection.tables", name=name, schema=schema, timeout=SOURCE_WAIT
    )
    return TableList.model_validate(found)


@router.get("/{name}/preview", response_model=PreviewPublic)
async def preview_table(
    name: ConnectionName,
    gw: GatewayDep,
    table: Annotated[
        str,
        Query(
            min_length=1,
            max_length=300,
            description="`schema.table`, or `table` in the default schema",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> PreviewPublic:
    """The first rows of a table, read in a read-only transaction (PII is not masked here:
    operators only)."""
    found = await gw.owners.ingest.ask(
        "connection.preview", name=name, table=table, limit=limit, timeout=SOURCE_WAIT
    )
    return PreviewPublic.model_validate(found)


async def _refuse_existing(gw, name: str) -> None:
    try:
        await gw.owners.ingest.ask("connection.get", name=name)
    except NotFoundError:
        return
    raise ConflictError(
        f"a connection named {name!r} exists; PUT /api/v1/connections/{name} replaces it"
    )
