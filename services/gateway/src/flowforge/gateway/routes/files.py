"""Uploads: a file posted here is kept under `uploads/` and starts a run (`file.landed`)."""

from __future__ import annotations

import asyncio
import codecs
import uuid
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from flowforge.common import lake
from flowforge.common.bus import publish
from flowforge.common.errors import BadInputError, NotFoundError
from flowforge.common.events import FileLanded, utcnow
from flowforge.gateway.deps import Gateway, GatewayDep
from flowforge.gateway.landing import LandingRoute, take_landed
from flowforge.gateway.schemas import UploadAccepted

router = APIRouter(prefix="/api/v1", tags=["files"], route_class=LandingRoute)
SchemaPolicy = Literal["evolve", "freeze", "discard_row"]


def parse_key(raw: str | None) -> list[str] | None:
    if raw is None or not raw.strip():
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def safe_filename(raw: str | None) -> str:
    """The file's own name, safe as the last part of an object key."""
    name = Path((raw or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '/\\:*?"<>|')[:200]
    return name if name.strip(". ") else "upload.csv"


def dataset_name(given: str | None, filename: str) -> str:
    """A chosen name is taken as given (case and separators aside) or refused; else the
    file's stem, normalised (the answer says the name used)."""
    if given:
        return lake.given_name(given, "dataset")
    return lake.check_name(lake.normalise_name(Path(filename).stem), "dataset")


def _spool(upload: UploadFile, limit: int) -> tuple[Path, int, str]:
    """The upload's scratch file with its size and hash, landed as the body arrived
    (`landing`; the route must be a `LandingRoute`), refused over the upload limit."""
    landed = take_landed(upload)
    if landed is None:
        raise RuntimeError("an upload route must use LandingRoute")
    path, size, _ = landed
    if size > limit:
        path.unlink(missing_ok=True)
        raise BadInputError(f"the file is larger than the upload limit of {limit} bytes")
    return landed


DUPLICATE = {200: {"model": UploadAccepted, "description": "landed before (`duplicate_of`)"}}


@router.post(
    "/files",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=UploadAccepted,
    responses=DUPLICATE,
)
async def upload_file(
    gw: GatewayDep,
    file: Annotated[UploadFile, File(description="the file to ingest (CSV, TSV, ...)")],
    dataset: Annotated[
        str | None, Form(description="dataset name; default: the file's stem")
    ] = None,
    key: Annotated[str | None, Form(description="key column(s), comma-separated")] = None,
    sheet: Annotated[
        str | None, Form(description="for an Excel workbook: the one sheet to land")
    ] = None,
    schema_policy: Annotated[
        SchemaPolicy | None,
        Form(description="the dataset's schema contract from now on: evolve, freeze, discard_row"),
    ] = None,
    force: Annotated[
        bool, Form(description="land it even if the dataset already has this very content")
    ] = False,
    encoding: Annotated[
        str | None,
        Form(
            description="the text encoding of a delimited file (utf-8, cp1252, latin-1, "
            "shift_jis, ...); default: detected, and recorded on the run with its confidence",
            pattern=r"^[A-Za-z][A-Za-z0-9_.:-]{0,39}$",
        ),
    ] = None,
) -> UploadAccepted | JSONResponse:
    """Land a file: it is stored under `uploads/` and its run starts (`file.landed`). The same
    content sent again to the same dataset is answered with the earlier run (200,
    `duplicate_of`) unless that run failed or `force` is set."""
    filename = safe_filename(file.filename)
    name = dataset_name(dataset, filename)
    if encoding:
        _check_encoding(encoding)
    settings = gw.settings
    spooled, size, content_hash = await asyncio.to_thread(_spool, file, settings.upload_limit_bytes)
    try:
        if size == 0:
            raise BadInputError(f"{filename}: the file is empty")
        earlier = None if force else await _landed_before(gw, name, content_hash)
        if earlier is not None:
            return JSONResponse(jsonable_encoder(earlier), status_code=status.HTTP_200_OK)
        run_id = uuid.uuid4().hex
        landing = lake.upload_key(run_id, filename)
        await asyncio.to_thread(gw.store.move_file, landing, spooled)  # a rename in a folder
    finally:
        await asyncio.to_thread(spooled.unlink, True)
    config = await gw.owners.ingest.ask(
        "dataset.put", name=name, key=parse_key(key), schema_policy=schema_policy
    )
    uri = gw.store.uri(landing)
    await gw.uploads.record(run_id=run_id, dataset=name, filename=filename, size_bytes=size,
                            content_hash=content_hash, landing_uri=uri)  # fmt: skip
    event = FileLanded(
        run_id=run_id,
        dataset=name,
        content_hash=content_hash,
        filename=filename,
        key=config["key"],
        schema_policy=config["schema_policy"],
        array_policy=config["array_policy"],
        sheet=sheet or None,
        encoding=encoding or None,
        landing_uri=uri,
        size_bytes=size,
        landed_at=utcnow(),
    )
    await publish(gw.broker, event, settings)
    return UploadAccepted(run_id=run_id, dataset=name, filename=filename, size_bytes=size,
                          content_hash=content_hash, key=config["key"])  # fmt: skip


def _check_encoding(name: str) -> None:
    try:
        codecs.lookup(name)
    except LookupError:
        raise BadInputError(
            f"unknown encoding {name!r}; name one like utf-8, cp1252, latin-1, shift_jis"
        ) from None


async def _landed_before(gw: Gateway, dataset: str, content_hash: str) -> UploadAccepted | None:
    """The earlier upload of this content to this dataset, unless its run failed."""
    for upload in await gw.uploads.same_content(dataset, content_hash):
        try:
            run = await gw.owners.catalog.ask("runs.get", run_id=upload["run_id"])
        except NotFoundError:
            run = {"status": "queued", "counts": {}}
        if run["status"] == "failed":
            continue
        config = await gw.owners.ingest.ask("dataset.get", name=dataset)
        return UploadAccepted(
            run_id=upload["run_id"],
            dataset=dataset,
            status=run["status"],
            filename=upload["filename"],
            size_bytes=upload["size_bytes"],
            content_hash=content_hash,
            key=config["key"],
            duplicate_of=upload["run_id"],
        )
    return None
