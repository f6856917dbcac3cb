"""An uploaded file written straight to the gateway's scratch folder as its request body
arrives, hashed on the way: one pass over the bytes instead of three.

Starlette parses a multipart form into spooled temporary files (each 64 KiB chunk written in
a thread of its own), which the route then copied to a scratch file while hashing it. Here the
file part of a form goes into a `LandingFile` instead: chunks gather in memory and each 4 MiB
is hashed and written by a worker thread while the next arrives (at most one block behind, so
memory stays bounded). A route that takes an `UploadFile` takes the file as it is
(`take_landed`); everything else about forms (fields, limits, errors, the OpenAPI contract) is
Starlette's and FastAPI's as before.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import aclosing
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import HTTPException, parse_options_header

BLOCK = 4 * 1024 * 1024
_writers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="landing")


class LandingFile:
    """A write-only file in `folder`, hashed (sha256) as it is written; written behind by a
    worker thread one block at a time. `finish()` (in a thread) waits for the last block and
    answers the path, size and hash; `close()` drops the file unless it was taken."""

    _rolled = False  # UploadFile writes to an object it thinks in memory without a thread hop

    def __init__(self, folder: Path, limit: int):
        fd, name = tempfile.mkstemp(dir=folder, prefix="upload-")
        self.fd: int | None = fd
        self.path = Path(name)
        self.limit = limit
        self.size = 0
        self.digest = hashlib.sha256()
        self.buffer = bytearray()
        self.pending: Future | None = None
        self.taken = False

    # The file object UploadFile sees (write, seek, read, close).
    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size <= self.limit:  # beyond the limit nothing is kept: the route refuses it
            self.buffer += data
            if len(self.buffer) >= BLOCK:
                self._flush()
        return len(data)

    def tell(self) -> int:
        return self.size

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0  # the end of the part: nothing to do until finish()

    def read(self, size: int = -1) -> bytes:
        raise OSError("a landing file is written, not read; take it with take_landed()")

    def _flush(self) -> None:
        block, self.buffer = self.buffer, bytearray()
        if self.pending is not None:
            self.pending.result()  # the block before: at most one in flight
        self.pending = _writers.submit(self._put, block)

    def _put(self, block: bytearray) -> None:
        self.digest.update(block)
        view = memoryview(block)
        while view:
            view = view[os.write(self.fd, view) :]

    def finish(self) -> tuple[Path, int, str]:
        """Wait until every byte is on disk: the file's path, size and sha256 (blocking)."""
        if self.buffer:
            self._flush()
        if self.pending is not None:
            self.pending.result()
            self.pending = None
        self._close_fd()
        self.taken = True
        return self.path, self.size, self.digest.hexdigest()

    def _close_fd(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def close(self) -> None:
        if self.pending is not None:
            try:
                self.pending.result()
            except OSError:
                pass
            self.pending = None
        self._close_fd()
        if not self.taken:
            self.path.unlink(missing_ok=True)


def take_landed(upload: UploadFile) -> tuple[Path, int, str] | None:
    """The landed file of an upload parsed by `LandingRequest` (blocking: call in a thread);
    None for any other upload. The caller owns the file from then on."""
    return upload.file.finish() if isinstance(upload.file, LandingFile) else None


class _LandingParser(MultiPartParser):
    def __init__(self, *args: Any, folder: Path, limit: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.folder, self.limit = folder, limit
        self.landed: list[LandingFile] = []

    async def parse(self) -> FormData:
        form = await super().parse()
        kept = {id(v.file) for _, v in form.multi_items() if isinstance(v, UploadFile)}
        for file in self.landed:  # a part the body never finished is not in the form
            if id(file) not in kept:
                file.close()
        return form

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        part = self._current_part
        if part.file is not None:  # a file part: land it instead of spooling it
            self._files_to_close_on_error.remove(part.file.file)
            part.file.file.close()
            landing = LandingFile(self.folder, self.limit)
            self.landed.append(landing)
            self._files_to_close_on_error.append(landing)  # type: ignore[arg-type]
            part.file = UploadFile(
                file=landing,  # type: ignore[arg-type]
                size=0,
                filename=part.file.filename,
                headers=part.file.headers,
            )


class LandingRequest(Request):
    """A request whose multipart form lands its files (see the module)."""

    async def _get_form(
        self,
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> FormData:
        content_type, _ = parse_options_header(self.headers.get("Content-Type"))
        if self._form is not None or content_type != b"multipart/form-data":
            return await super()._get_form(
                max_files=max_files, max_fields=max_fields, max_part_size=max_part_size
            )
        settings = self.app.state.gateway.settings
        try:
            async with aclosing(self.stream()) as stream:
                parser = _LandingParser(
                    Headers(scope=self.scope),
                    stream,
                    max_files=max_files,
                    max_fields=max_fields,
                    max_part_size=max_part_size,
                    folder=settings.scratch_dir,
                    limit=settings.upload_limit_bytes,
                )
                self._form = await parser.parse()
        except MultiPartException as exc:
            raise HTTPException(status_code=400, detail=exc.message) from exc
        return self._form


class LandingRoute(APIRoute):
    """A route whose uploads land as they arrive (`LandingRequest`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def landing_handler(request: Request) -> Response:
            return await handler(LandingRequest(request.scope, request.receive))

        return landing_handler
