"""LocalObjectStore (a folder as an object store) and LakeFiles (local paths for lake objects)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowforge.common.errors import NotFoundError, PermanentError
from flowforge.common.lake import ObjectRefError
from flowforge.common.storage import LakeFiles, LocalObjectStore, ObjectInfo, ObjectStore


class InMemoryStore(ObjectStore):
    """A remote-like store (no local paths) that counts downloads."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.downloads = 0

    def uri(self, key: str) -> str:
        return f"mem://{key}"

    def _key_of(self, uri: str) -> str | None:
        return uri.removeprefix("mem://")

    def put_file(self, key: str, path: Path) -> None:
        self.objects[key] = path.read_bytes()

    def get_file(self, key: str, path: Path) -> None:
        path.write_bytes(self.get_bytes(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        self.objects[key] = data

    def get_bytes(self, key: str) -> bytes:
        if key not in self.objects:
            raise NotFoundError(key)
        self.downloads += 1
        return self.objects[key]

    def exists(self, key: str) -> bool:
        return key in self.objects

    def list(self, prefix: str) -> list[ObjectInfo]:
        return [
            ObjectInfo(k, len(v)) for k, v in sorted(self.objects.items()) if k.startswith(prefix)
        ]

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "lake")


def every_file(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_bytes_put_are_the_bytes_got(store: LocalObjectStore) -> None:
    store.put_bytes("bronze/sales/run-1.parquet", b"\x00PAR1 data")

    assert store.get_bytes("bronze/sales/run-1.parquet") == b"\x00PAR1 data"


def test_putting_a_key_again_replaces_the_object(store: LocalObjectStore) -> None:
    store.put_bytes("gold/model/data.parquet", b"old")
    store.put_bytes("gold/model/data.parquet", b"new")

    assert store.get_bytes("gold/model/data.parquet") == b"new"


def test_a_file_put_is_the_file_got(store: LocalObjectStore, tmp_path: Path) -> None:
    source, copy = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_bytes(b"id,name\n1,x\n")

    store.put_file("landing/run-1/in.csv", source)
    store.get_file("landing/run-1/in.csv", copy)

    assert copy.read_bytes() == b"id,name\n1,x\n"


def test_getting_a_missing_object_is_not_found(store: LocalObjectStore, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        store.get_bytes("bronze/none.parquet")
    with pytest.raises(NotFoundError, match="does not exist"):
        store.get_file("bronze/none.parquet", tmp_path / "x")


def test_listing_returns_the_objects_under_a_prefix_with_sizes(store: LocalObjectStore) -> None:
    for key in [
        "bronze/sales/a.parquet",
        "bronze/sales/b.parquet",
        "bronze/salesx/c.parquet",
        "silver/sales/a.parquet",
    ]:
        store.put_bytes(key, b"12345")

    assert store.list("bronze/sales/") == [
        ObjectInfo("bronze/sales/a.parquet", 5),
        ObjectInfo("bronze/sales/b.parquet", 5),
    ]
    assert [o.key for o in store.list("bronze/sales/a")] == ["bronze/sales/a.parquet"]
    assert len(store.list("")) == 4
    assert store.list("gold/") == []


def test_a_prefix_matches_keys_as_strings_like_s3(store: LocalObjectStore) -> None:
    for key in ["bronze/sales/a.parquet", "bronze/salesx/c.parquet"]:
        store.put_bytes(key, b"x")

    assert [o.key for o in store.list("bronze/sales")] == [
        "bronze/sales/a.parquet",
        "bronze/salesx/c.parquet",
    ]


def test_exists_and_delete(store: LocalObjectStore) -> None:
    store.put_bytes("rejected/sales/run-1.parquet", b"x")
    assert store.exists("rejected/sales/run-1.parquet")
    assert not store.exists("rejected/sales")

    store.delete("rejected/sales/run-1.parquet")
    store.delete("rejected/sales/run-1.parquet")

    assert not store.exists("rejected/sales/run-1.parquet")


@pytest.mark.parametrize("key", ["../outside.txt", "bronze/../../outside.txt", "/etc/passwd"])
def test_a_key_escaping_the_root_is_refused(store: LocalObjectStore, key: str) -> None:
    with pytest.raises(PermanentError, match="escapes the store|outside the lake's data"):
        store.put_bytes(key, b"x")
    with pytest.raises(PermanentError, match="escapes the store|outside the lake's data"):
        store.get_bytes(key)
    assert not (store.root.parent / "outside.txt").exists()


@pytest.mark.parametrize(
    "key", ["admin.password", "run/endpoints.json", "postgres/pg_hba.conf", "bronze/../admin.key"]
)
def test_the_state_beside_the_data_folders_is_not_an_object(
    store: LocalObjectStore, key: str
) -> None:
    """The local lake is $FLOWFORGE_HOME's data folders: the secrets kept beside them are not
    reachable by any key, nor listed."""
    secret = store.root / key.removeprefix("bronze/../")
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("s3cr3t")
    with pytest.raises(ObjectRefError, match="outside the lake's data"):
        store.get_bytes(key)
    with pytest.raises(ObjectRefError, match="outside the lake's data"):
        store.key_of(secret.as_uri())
    assert store.list("") == []


def test_a_link_out_of_a_data_folder_is_refused(store: LocalObjectStore) -> None:
    (store.root / "admin.password").write_text("s3cr3t")
    (store.root / "landing").mkdir()
    (store.root / "landing" / "evil.csv").symlink_to(store.root / "admin.password")
    with pytest.raises(NotFoundError, match="escapes the store"):
        store.get_bytes("landing/evil.csv")


@pytest.mark.parametrize(
    "uri",
    [
        "file:///etc/passwd",
        "s3://flowforge/bronze/x.parquet",
        "bronze/x.parquet",
        "{root}/bronze/x.parquet",
        "file://{root}/../x/bronze/y.parquet",
    ],
)
def test_an_event_reference_outside_the_store_is_refused(store: LocalObjectStore, uri: str) -> None:
    with pytest.raises(ObjectRefError, match="outside the lake's data"):
        store.key_of(uri.format(root=store.root))


def test_an_event_reference_into_the_data_is_its_key(store: LocalObjectStore) -> None:
    assert store.key_of(store.uri("silver/sales/r1.parquet")) == "silver/sales/r1.parquet"


@pytest.mark.parametrize(
    "key",
    [
        "bronze/sales/run-1.parquet",
        "landing/run-1/my data.csv",
        "landing/run-1/café.csv",
        "landing/run-1/50%off#1.csv",
    ],
)
def test_a_uri_maps_back_to_its_key(store: LocalObjectStore, key: str) -> None:
    uri = store.uri(key)

    assert uri.startswith("file://")
    assert store.key_of(uri) == key


def test_writes_leave_no_temporary_files(store: LocalObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(b"a\n")

    store.put_bytes("landing/run-1/a.csv", b"a\n")
    store.put_file("landing/run-1/b.csv", source)
    store.put_file("landing/run-1/b.csv", source)

    assert every_file(store.root) == ["landing/run-1/a.csv", "landing/run-1/b.csv"]


def test_a_failed_write_leaves_neither_target_nor_temporary_file(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        store.put_file("landing/run-1/a.csv", tmp_path / "missing.csv")

    assert every_file(store.root) == []


def test_readable_yields_the_local_object(store: LocalObjectStore, tmp_path: Path) -> None:
    store.put_bytes("silver/sales/run-1.parquet", b"rows")

    with store.readable("silver/sales/run-1.parquet", tmp_path) as path:
        assert path.read_bytes() == b"rows"
    with pytest.raises(NotFoundError), store.readable("silver/none.parquet", tmp_path):
        pass


def test_lake_files_use_the_local_object_itself(store: LocalObjectStore, tmp_path: Path) -> None:
    files = LakeFiles(store, tmp_path / "cache")
    store.put_bytes("silver/sales/run-1.parquet", b"rows")

    assert files.path("silver/sales/run-1.parquet") == store.root / "silver/sales/run-1.parquet"
    assert files.fresh_path("silver/sales/run-1.parquet") == files.path(
        "silver/sales/run-1.parquet"
    )
    with pytest.raises(NotFoundError, match="is missing"):
        files.path("silver/sales/none.parquet")


def test_lake_files_commit_moves_the_output_into_a_local_store(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    files = LakeFiles(store, tmp_path / "cache")
    written = files.output("gold/revenue/data.parquet")
    written.write_bytes(b"gold")

    files.commit("gold/revenue/data.parquet", written)

    assert store.get_bytes("gold/revenue/data.parquet") == b"gold"
    assert not written.exists()


def test_lake_files_download_a_remote_object_once(tmp_path: Path) -> None:
    remote = InMemoryStore()
    remote.put_bytes("silver/sales/run-1.parquet", b"rows")
    files = LakeFiles(remote, tmp_path / "cache")

    first = files.path("silver/sales/run-1.parquet")
    second = files.path("silver/sales/run-1.parquet")

    assert first == second == tmp_path / "cache/silver/sales/run-1.parquet"
    assert (first.read_bytes(), remote.downloads) == (b"rows", 1)


def test_lake_files_fresh_path_downloads_a_rewritten_object_again(tmp_path: Path) -> None:
    remote = InMemoryStore()
    files = LakeFiles(remote, tmp_path / "cache")
    remote.put_bytes("gold/revenue/data.parquet", b"v1")
    files.path("gold/revenue/data.parquet")

    remote.put_bytes("gold/revenue/data.parquet", b"v2")

    assert files.fresh_path("gold/revenue/data.parquet").read_bytes() == b"v2"


def test_lake_files_commit_to_a_remote_store_keeps_a_cached_copy(tmp_path: Path) -> None:
    remote = InMemoryStore()
    files = LakeFiles(remote, tmp_path / "cache")
    written = files.output("gold/revenue/data.parquet")
    written.write_bytes(b"gold")

    files.commit("gold/revenue/data.parquet", written)

    assert remote.objects == {"gold/revenue/data.parquet": b"gold"}
    assert files.path("gold/revenue/data.parquet").read_bytes() == b"gold"
    assert remote.downloads == 0


def test_the_store_itself_has_a_uri(store: LocalObjectStore) -> None:
    assert store.uri("") == store.root.as_uri()


def test_a_folder_store_moves_a_file_in_by_renaming_it(tmp_path) -> None:
    store = LocalObjectStore(tmp_path / "lake")
    source = tmp_path / "upload.csv"
    source.write_bytes(b"id\n1\n")
    inode = source.stat().st_ino
    store.move_file("landing/run-1/in.csv", source)
    target = store.local_path("landing/run-1/in.csv")
    assert not source.exists() and target.read_bytes() == b"id\n1\n"
    assert target.stat().st_ino == inode  # renamed, not copied
