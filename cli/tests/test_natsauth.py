"""The NATS permissions, against a real nats-server: a service publishes only its events, a
read-only subscriber reads the stream through its own consumers and publishes nothing, nobody
deletes the stream, and an anonymous client is refused."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import bcrypt
import nats
import pytest

from flowforge.cli.ports import free_port, wait_for_port
from flowforge.common.natsauth import (
    OPERATOR,
    NatsUser,
    check_subscriber_name,
    deployment_users,
    render_authorization,
    service_permissions,
    subscriber_permissions,
)


@pytest.fixture
def server(tmp_path: Path):
    hashed = bcrypt.hashpw(b"pw-reader", bcrypt.gensalt(rounds=4)).decode()
    users = [
        NatsUser("ingest", "pw-ingest", service_permissions("ingest")),
        NatsUser("reader", hashed, subscriber_permissions("reader")),
        NatsUser(OPERATOR, "pw-op"),
    ]
    conf = tmp_path / "nats.conf"
    conf.write_text(render_authorization(users))
    port = free_port()
    binary = str(Path(sys.executable).parent / "nats-server")
    log = tmp_path / "nats.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "-c", str(conf), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd",
             str(tmp_path / "js")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    wait_for_port(port, 30, process)
    yield f"nats://127.0.0.1:{port}", log
    process.terminate()
    process.wait(10)


async def _refused(call) -> bool:
    try:
        await call
    except Exception:  # noqa: BLE001 - a violation shows as a timeout (no answer) or an error
        return True
    return False


def test_each_user_may_do_what_its_role_needs_and_nothing_more(server) -> None:
    url, log = server

    async def scenario() -> list[str]:
        errors: list[str] = []

        async def note(exc: Exception) -> None:
            errors.append(str(exc))

        with pytest.raises(Exception, match="Authorization Violation"):
            await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0)
        ingest = await nats.connect(url, user="ingest", password="pw-ingest", error_cb=note)
        js = ingest.jetstream()
        await js.add_stream(name="FLOWFORGE", subjects=["file.landed", "bronze.ready", "dlq.>"])
        assert (await js.publish("bronze.ready", b"{}")).seq == 1
        reader = await nats.connect(
            url, user="reader", password="pw-reader", inbox_prefix="_INBOX.reader", error_cb=note
        )
        rjs = reader.jetstream()
        pulled = await (await rjs.pull_subscribe("bronze.ready", durable="reader")).fetch(1, 5)
        assert pulled[0].subject == "bronze.ready"
        await pulled[0].ack()
        ordered = await rjs.subscribe("bronze.ready", ordered_consumer=True)
        assert (await ordered.next_msg(timeout=5)).subject == "bronze.ready"
        assert await _refused(rjs.publish("file.landed", b"{}", timeout=1))
        assert await _refused(asyncio.wait_for(rjs.delete_stream("FLOWFORGE"), 1.5))
        assert await _refused(asyncio.wait_for(js.delete_stream("FLOWFORGE"), 1.5))
        assert await _refused(js.publish("gold.ready", b"{}", timeout=1))
        assert (await js.stream_info("FLOWFORGE")).state.messages == 1
        await asyncio.sleep(0.3)
        await ingest.close()
        await reader.close()
        return errors

    errors = asyncio.run(scenario())
    text = log.read_text()
    assert 'user:reader" - Publish Violation - Subject "file.landed"' in text
    assert 'user:ingest" - Publish Violation - Subject "$JS.API.STREAM.DELETE.FLOWFORGE"' in text
    assert any("file.landed" in e for e in errors)


def test_deployment_configuration_takes_passwords_from_the_environment() -> None:
    text = render_authorization(deployment_users())
    assert "password: $NATS_GATEWAY_PASSWORD" in text
    assert "password: $NATS_MINIO_PASSWORD" in text
    assert '"$NATS' not in text  # a quoted variable would be a literal password


@pytest.mark.parametrize("name", ["gateway", OPERATOR, "A", "x", "bad name", "_x"])
def test_a_subscriber_name_must_not_pass_for_a_service(name: str) -> None:
    with pytest.raises(ValueError, match="invalid subscriber name"):
        check_subscriber_name(name)
