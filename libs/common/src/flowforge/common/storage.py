"""Object store: one small interface, an S3 implementation (minio SDK) and a local folder.

Methods are blocking (the minio SDK is); handlers call them through `asyncio.to_thread`
together with the CPU work around them. Keys are `/`-separated, relative to the store root:
`landing/...`, `bronze/<dataset>/...`, `silver/<dataset>/...`, `gold/<model>/...`,
`quarantine/<dataset>/...`, `rejected/<dataset>/...`.

Writes are atomic: the local store writes a temporary file and renames it into place; an S3
PUT (single or multipart) only becomes visible once complete. A reader never sees half a file.
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flowforge.common.errors import NotFoundError, TransientError
from flowforge.common.lake import DATA_PREFIXES, ObjectRefError, check_data_key
from flowforge.common.settings import Settings
from flowforge.common.telemetry import traced_store


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str = ""
    modified: float = field(default=0.0, compare=False)  # seconds since the epoch


class ObjectStore(ABC):
    """Where every layer's objects live."""

    @abstractmethod
    def uri(self, key: str) -> str: ...

    def key_of(self, uri: str) -> str:
        """The key of an object this store wrote or was given (an event's `*_uri`): refused
        (`ObjectRefError`, permanent) unless it is in this store and under the lake's data."""
        key = self._key_of(uri)
        if not key:
            # Only the scheme is named: a server path in an error would say where state lives.
            what = f"a {uri.split('://', 1)[0]}:// URI" if "://" in uri else "a bare path"
            raise ObjectRefError(
                f"object reference ({what}) is outside the lake's data: not in this store; refused"
            )
        return check_data_key(key)

    @abstractmethod
    def _key_of(self, uri: str) -> str | None:
        """The key `uri` names in this store; None when it is not one of this store's."""

    @abstractmethod
    def put_file(self, key: str, path: Path) -> None: ...

    @abstractmethod
    def get_file(self, key: str, path: Path) -> None: ...

    def move_file(self, key: str, path: Path) -> None:
        """`put_file`, then the local file is gone (a folder store renames it when it can:
        no copy of a large file)."""
        self.put_file(key, path)
        path.unlink(missing_ok=True)

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str) -> list[ObjectInfo]: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    def local_path(self, key: str) -> Path | None:
        """The object's path on this machine, when the store is a local folder."""
        return None

    @contextmanager
    def readable(self, key: str, scratch: Path) -> Iterator[Path]:
        """A local path holding the object for the duration of the block."""
        local = self.local_path(key)
        if local is not None:
            if not local.exists():
                raise NotFoundError(f"object {key!r} does not exist")
            yield local
            return
        with tempfile.TemporaryDirectory(dir=scratch) as tmp:
            path = Path(tmp) / Path(key).name
            self.get_file(key, path)
            yield path


@traced_store("local")
class LocalObjectStore(ObjectStore):
    def __init__(self, root: Path):
        self.root = root.expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        # The store is the data folders of $FLOWFORGE_HOME, not the folder itself: the state
        # beside them (passwords, keys, the database) is not reachable by any key.
        top = check_data_key(key).split("/", 1)[0]
        path = (self.root / key).resolve()
        if not path.is_relative_to(self._top(top)):  # a link out of its data folder
            raise NotFoundError(f"object key {key!r} escapes the store")
        return path

    @functools.cache  # noqa: B019 - a handful of data folders per store, kept with it
    def _top(self, name: str) -> Path:
        return (self.root / name).resolve()

    def uri(self, key: str) -> str:
        # "" names the store itself (ingest's drop ledger keys its rows by it). A name, not an
        # access: built from the key alone (resolving links on every call cost a Gold stage
        # ~30 ms per hundred batches); reading or writing it checks where it leads.
        return (self.root / check_data_key(key)).as_uri() if key else self.root.as_uri()

    def _key_of(self, uri: str) -> str | None:
        if uri.startswith("file://"):
            from urllib.parse import unquote

            path = Path(unquote(uri.removeprefix("file://")))
            if path.is_relative_to(self.root):
                return path.relative_to(self.root).as_posix()
        return None

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def _atomic_target(self, key: str) -> tuple[Path, Path]:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        return target, Path(tmp)

    def put_file(self, key: str, path: Path) -> None:
        target, tmp = self._atomic_target(key)
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def move_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)  # atomic; same file system only
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            self.put_file(key, path)
            path.unlink(missing_ok=True)

    def get_file(self, key: str, path: Path) -> None:
        source = self._path(key)
        if not source.exists():
            raise NotFoundError(f"object {key!r} does not exist")
        shutil.copyfile(source, path)

    def put_bytes(self, key: str, data: bytes) -> None:
        target, tmp = self._atomic_target(key)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def get_bytes(self, key: str) -> bytes:
        source = self._path(key)
        if not source.exists():
            raise NotFoundError(f"object {key!r} does not exist")
        return source.read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[ObjectInfo]:
        # S3 semantics: the prefix is matched as text ("bronze/sales" also lists "salesx/").
        if not prefix:
            return [info for top in DATA_PREFIXES for info in self.list(top)]
        base = self._path(prefix)
        search = base if prefix.endswith("/") else base.parent
        if not search.is_dir():
            return []
        out = []
        for path in sorted(search.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    stat = path.stat()
                    out.append(ObjectInfo(key=key, size=stat.st_size, modified=stat.st_mtime))
        return out

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


@traced_store("s3")
class S3ObjectStore(ObjectStore):
    """Any S3-compatible server (MinIO, AWS S3, SeaweedFS) through the minio SDK."""

    def __init__(
        self,
        endpoint_url: str,
        access_key: str | None,
        secret_key: str | None,
        bucket: str,
        region: str | None = None,
    ):
        from urllib.parse import urlsplit

        from minio import Minio

        parts = urlsplit(endpoint_url if "://" in endpoint_url else f"http://{endpoint_url}")
        self.bucket = bucket
        # Kept for other clients of the same bucket (the lakehouse's Delta tables).
        self.endpoint_url = f"{parts.scheme}://{parts.netloc}"
        self.access_key, self.secret_key, self.region = access_key, secret_key, region
        self.client = Minio(
            parts.netloc,
            access_key=access_key,
            secret_key=secret_key,
            secure=parts.scheme == "https",
            region=region,
        )

    def ensure_bucket(self) -> None:
        with self._translated("create bucket"):
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)

    @contextmanager
    def _translated(self, action: str, key: str = "") -> Iterator[None]:
        from minio.error import S3Error
        from urllib3.exceptions import HTTPError

        try:
            yield
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NoSuchBucket"):
                raise NotFoundError(f"object {key!r} does not exist ({exc.code})") from exc
            raise TransientError(f"S3 {action} {key!r} failed: {exc.code}") from exc
        except (HTTPError, OSError) as exc:
            raise TransientError(f"S3 {action} {key!r} failed: {exc}") from exc

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _key_of(self, uri: str) -> str | None:
        prefix = f"s3://{self.bucket}/"
        return uri.removeprefix(prefix) if uri.startswith(prefix) else None

    def put_file(self, key: str, path: Path) -> None:
        with self._translated("upload", key):
            self.client.fput_object(self.bucket, key, str(path))

    def get_file(self, key: str, path: Path) -> None:
        with self._translated("download", key):
            self.client.fget_object(self.bucket, key, str(path))

    def put_bytes(self, key: str, data: bytes) -> None:
        import io

        with self._translated("upload", key):
            self.client.put_object(self.bucket, key, io.BytesIO(data), len(data))

    def get_bytes(self, key: str) -> bytes:
        with self._translated("download", key):
            response = self.client.get_object(self.bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            with self._translated("stat", key):
                self.client.stat_object(self.bucket, key)
            return True
        except NotFoundError:
            return False

    def list(self, prefix: str) -> list[ObjectInfo]:
        with self._translated("list", prefix):
            return [
                ObjectInfo(
                    key=o.object_name,
                    size=o.size or 0,
                    etag=(o.etag or "").strip('"'),
                    modified=o.last_modified.timestamp() if o.last_modified else 0.0,
                )
                for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
                if not o.is_dir
            ]

    def delete(self, key: str) -> None:
        with self._translated("delete", key):
            self.client.remove_object(self.bucket, key)


class LakeFiles:
    """Local paths for lake objects: the object itself with a local store, else a cached
    download (Silver, Bronze and quarantine objects of a run never change once written)."""

    def __init__(self, store: ObjectStore, cache_dir: Path):
        self.store = store
        self.cache_dir = cache_dir
        # Objects being written go to a folder of this process: replicas sharing the cache
        # never write the same file, and what a killed process left is removed here.
        self.out_dir = cache_dir / "out" / str(os.getpid())
        _remove_dead_outputs(cache_dir / "out")

    def path(self, key: str) -> Path:
        local = self.store.local_path(key)
        if local is not None:
            if not local.exists():
                raise NotFoundError(f"lake object {key!r} is missing")
            return local
        target = self.cache_dir / key
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # A name of its own: two processes may download the same object at once.
            fd, name = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".part"
            )
            os.close(fd)
            try:
                self.store.get_file(key, Path(name))
                Path(name).replace(target)
            finally:
                Path(name).unlink(missing_ok=True)
        return target

    def fresh_path(self, key: str) -> Path:
        """Like `path`, for an object that is rewritten in place (a Gold model): never stale."""
        if self.store.local_path(key) is None:
            (self.cache_dir / key).unlink(missing_ok=True)
        return self.path(key)

    def output(self, key: str) -> Path:
        """Where to write an object before committing it with `commit`."""
        target = self.out_dir / key
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def commit(self, key: str, written: Path) -> None:
        if self.store.local_path(key) is not None:
            self.store.move_file(key, written)
        else:
            self.store.put_file(key, written)
            cached = self.cache_dir / key
            cached.parent.mkdir(parents=True, exist_ok=True)
            written.replace(cached)

    def delete(self, key: str) -> None:
        """Remove an object, and its downloaded copy."""
        self.store.delete(key)
        if self.store.local_path(key) is None:
            (self.cache_dir / key).unlink(missing_ok=True)


def open_store(settings: Settings) -> ObjectStore:
    """The configured store: S3 when S3_ENDPOINT_URL is set, else the `$FLOWFORGE_HOME` folder
    (so embedded landing is `$FLOWFORGE_HOME/landing/`, Bronze `$FLOWFORGE_HOME/bronze/`, ...)."""
    if settings.uses_s3:
        secret = settings.s3_secret_access_key
        store = S3ObjectStore(
            settings.s3_endpoint_url or "",
            settings.s3_access_key_id,
            secret.get_secret_value() if secret else None,
            settings.s3_bucket_name,
            settings.s3_region,
        )
        store.ensure_bucket()
        return store
    return LocalObjectStore(settings.home_dir)


def _remove_dead_outputs(folder: Path) -> None:
    """Remove the output folders of processes that no longer run (killed mid-write)."""
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        if child.name.isdigit() and not _alive(int(child.name)):
            shutil.rmtree(child, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
