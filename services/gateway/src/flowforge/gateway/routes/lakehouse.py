"""Where the lake's tables are, for other engines (Spark, Trino, DuckDB, Polars): each
dataset's Silver table is a Delta table (docs/lakehouse.md)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from flowforge.common.lakehouse import Lakehouse, table_key
from flowforge.gateway.deps import GatewayDep
from flowforge.gateway.owners import LONG
from flowforge.gateway.routes.jobs import ACCEPTED, accept

router = APIRouter(prefix="/api/v1", tags=["lakehouse"])


class LakehouseCatalog(BaseModel):
    type: Literal["path"] = Field(
        description="Delta tables need no catalog service: each table is its location"
    )
    warehouse: str = Field(description="where the tables are (a folder, or s3://bucket/prefix)")
    storage_options: dict[str, str] = Field(
        description="delta-rs / object_store options for the store, secrets left out "
        "(add AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of your own)"
    )


class LakehouseTable(BaseModel):
    name: str = Field(description="the table's name as an engine sees it: `<layer>.<name>`")
    layer: Literal["silver", "gold"]
    dataset: str | None = None
    model: str | None = None
    location: str
    version: int = Field(description="the table version the platform reads")
    rows: int
    updated_at: str


class LakehousePublic(BaseModel):
    format: Literal["delta"]
    catalog: LakehouseCatalog
    tables: list[LakehouseTable]
    engines: dict[str, str] = Field(description="how to read a table, per engine")


@router.get("/lakehouse", response_model=LakehousePublic)
async def get_lakehouse(gw: GatewayDep) -> LakehousePublic:
    """The lake's tables and what another engine needs to read them."""
    lakehouse = Lakehouse(gw.store)
    found = await gw.owners.transform.ask("lakehouse.tables")
    tables = [
        LakehouseTable(
            name=f"{t['layer']}.{t['name']}",
            layer=t["layer"],
            # A Silver table holds a dataset's valid rows; a Gold one a model's.
            **{"dataset" if t["layer"] == "silver" else "model": t["name"]},
            location=lakehouse.location(t["layer"], t["name"]),
            version=t["version"],
            rows=t["rows"],
            updated_at=t["at"],
        )
        for t in found["tables"]
    ]
    root = lakehouse.location("silver", "x").removesuffix(table_key("silver", "x"))
    return LakehousePublic(
        format="delta",
        catalog=LakehouseCatalog(
            type="path",
            warehouse=root + "lakehouse",
            storage_options=lakehouse.storage_options(secrets=False),
        ),
        tables=tables,
        engines={
            "python": "deltalake.DeltaTable(location, storage_options=...).to_pyarrow_table()",
            "polars": "polars.scan_delta(location, storage_options=...)",
            "duckdb": "SELECT * FROM delta_scan('<location>') (the delta extension)",
            "spark": "spark.read.format('delta').load('<location>') (delta-spark)",
            "trino": "CALL delta.system.register_table('<schema>', '<table>', '<location>')",
        },
    )


class HousekeepingRequest(BaseModel):
    retention_hours: float | None = Field(
        None, ge=0, le=100_000, strict=True,
        description="versions older than this stop being readable (default: "
        "FLOWFORGE_LAKEHOUSE_RETENTION_HOURS, 168)",
    )  # fmt: skip


@router.post("/lakehouse/housekeeping", status_code=202, responses=ACCEPTED)
async def run_housekeeping(
    body: HousekeepingRequest, request: Request, gw: GatewayDep
) -> JSONResponse:
    """Vacuum every table now (it also runs every FLOWFORGE_HOUSEKEEPING_SECONDS): versions
    past the retention expire and files no kept version reads are removed. A job: its result
    gives the files removed per table."""
    params = body.model_dump(exclude_none=True)

    async def work() -> Any:
        return await gw.owners.transform.ask("lakehouse.housekeeping", timeout=LONG, **params)

    return await accept(gw, request, "housekeeping", None, params, work)
