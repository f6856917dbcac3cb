"""The command as a whole: where the URL and key come from, what refusals exit with, that the
key is never printed, --version, completion, and `test` handing its arguments to pytest."""

from __future__ import annotations

import httpx
import pytest

from flowforge.cli import config, main
from flowforge.cli.errors import UsageError


def test_flags_beat_the_environment_which_beats_the_local_admin_key(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "admin.key").write_text("from-home\n")
    (tmp_path / "k").write_text("from-file\n")
    env = {"FLOWFORGE_HOME": str(home)}
    file_env = {**env, "FLOWFORGE_API_KEY_FILE": str(tmp_path / "k")}

    def key(flag=None, file=None, **extra):
        return config.resolve(None, flag, file, {**env, **extra}).key

    assert key() == "from-home"
    assert config.resolve(None, None, None, file_env).key == "from-file"
    assert key(FLOWFORGE_API_KEY="from-env", **file_env) == "from-env"
    assert key(file=tmp_path / "k", FLOWFORGE_API_KEY="from-env") == "from-file"
    assert key("from-flag", tmp_path / "k", FLOWFORGE_API_KEY="from-env") == "from-flag"


def test_the_local_admin_key_is_never_sent_to_another_host(tmp_path):
    (tmp_path / "admin.key").write_text("local-admin")
    env = {"FLOWFORGE_HOME": str(tmp_path)}

    assert config.resolve("http://localhost:9000", None, None, env).key == "local-admin"
    assert config.resolve("https://flowforge.example.com", None, None, env).key is None


def test_the_url_defaults_to_the_local_port_and_must_be_http():
    assert config.gateway_url(None, {}) == "http://127.0.0.1:8000"
    assert config.gateway_url(None, {"FLOWFORGE_PORT": "9100"}) == "http://127.0.0.1:9100"
    assert (
        config.gateway_url(None, {"FLOWFORGE_URL": "https://ff.example/"}) == "https://ff.example"
    )
    with pytest.raises(UsageError):
        config.gateway_url("ff.example:8000", {})


def test_an_empty_key_file_is_a_usage_error(cli, tmp_path):
    (tmp_path / "empty").write_text("\n")

    done = cli("--api-key-file", str(tmp_path / "empty"), "runs", "list")

    assert done.code == 2
    assert "empty" in done.err


def test_the_url_flag_after_the_verb_is_used(cli, gateway):
    gateway.on("GET", "/api/v1/datasets", {"datasets": []})

    cli("datasets", "list", "--url", "http://gw.internal:9000")

    assert str(gateway.last.url).startswith("http://gw.internal:9000/api/v1/datasets")


def test_an_unreachable_gateway_exits_3(cli):
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    done = cli("runs", "list", transport=httpx.MockTransport(refuse))

    assert done.code == 3
    assert "cannot reach the gateway at http://127.0.0.1:8000" in done.err


def test_a_refused_key_exits_4_and_a_missing_one_says_how_to_give_it(cli, gateway, key):
    gateway.on("GET", "/api/v1/runs", gateway.problem(401, "authentication required"))

    anonymous = cli("runs", "list")
    with_key = cli("--api-key", key, "runs", "list")

    assert anonymous.code == 4 and "FLOWFORGE_API_KEY" in anonymous.err
    assert with_key.code == 4 and "authentication required" in with_key.err


def test_the_key_is_never_printed_whatever_the_verb_or_outcome(cli, gateway, key, tmp_path):
    (tmp_path / "key").write_text(key)
    gateway.on("GET", "/api/v1/runs", gateway.problem(403, "role viewer may not do this"))
    gateway.on("GET", "/healthz", {"status": "ok", "services": {}})
    verbs = [
        ("runs", "list"),
        ("runs", "show", "x"),
        ("status",),
        ("status", "--json"),
        ("datasets", "list", "--json"),
        ("replay", "orders", "--wait"),
    ]
    for verb in verbs:
        for auth in (("--api-key", key), ("--api-key-file", str(tmp_path / "key"))):
            done = cli(*auth, *verb)
            assert key not in done.out + done.err, verb
    assert all(r.headers["authorization"] == f"Bearer {key}" for r in gateway.requests)


def test_version_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("flowforge 0.")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_the_shell(cli, shell):
    done = cli("completion", shell)

    assert done.code == 0
    assert "flowforge" in done.out and len(done.out) > 200


def test_test_hands_every_argument_to_pytest_options_first_included(monkeypatch):
    seen: list[list[str]] = []
    monkeypatch.setattr("pytest.main", lambda args: seen.append(args) or 0)
    monkeypatch.setattr(main.os, "chdir", lambda path: None)
    monkeypatch.setenv("OPENAI_API_KEY", "must-not-reach-tests")

    assert main.main(["test", "-k", "e2e", "-x"]) == 0
    assert main.main(["test", "--", "cli/tests", "-q"]) == 0

    assert seen == [["-k", "e2e", "-x"], ["cli/tests", "-q"]]
    assert "OPENAI_API_KEY" not in main.os.environ
