"""The command line: every verb with its options and help. Building it imports nothing heavy
(no httpx, rich or pydantic), so `--help`, `--version` and tab completion answer at once;
each verb's module is imported only when it runs (`handler` names it)."""

from __future__ import annotations

import argparse
from pathlib import Path

from flowforge.cli import complete
from flowforge.cli.errors import EXIT_CODES_HELP

DESCRIPTION = """FlowForge from the command line: run the platform (`up`), land files (`ingest`),
and inspect or change a running gateway, local or remote (every other verb)."""

EPILOG = f"""environment:
  FLOWFORGE_URL           gateway URL (default http://127.0.0.1:$FLOWFORGE_PORT)
  FLOWFORGE_PORT          the local gateway's port (default 8000)
  FLOWFORGE_API_KEY       API key, sent as `Authorization: Bearer`; never printed
  FLOWFORGE_API_KEY_FILE  a file holding the API key
  FLOWFORGE_HOME          local instance folder (default ./.flowforge); its admin.key is
                          used for a gateway on this machine when no key is given

{EXIT_CODES_HELP}

docs/cli.md has every verb, with examples and shell completion set-up."""

WAIT_SECONDS = 3600.0


class _Version(argparse.Action):
    """--version, reading the installed version only when asked."""

    def __init__(self, option_strings: list[str], dest: str = "", **kwargs: object):
        super().__init__(option_strings, dest=argparse.SUPPRESS, nargs=0, help=kwargs.get("help"))

    def __call__(self, parser, namespace, values, option_string=None):  # noqa: ANN001
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("flowforge-cli")
        except PackageNotFoundError:
            found = "unknown"
        print(f"flowforge {found}")
        parser.exit()


def _gateway_options(top: bool) -> argparse.ArgumentParser:
    # On the top parser and on every verb; a verb's own defaults are SUPPRESS, so
    # `flowforge --json runs list` and `flowforge runs list --json` mean the same.
    unset = None if top else argparse.SUPPRESS
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("gateway options")
    group.add_argument("--url", default=unset, help="gateway URL (FLOWFORGE_URL)")
    group.add_argument(
        "--api-key",
        default=unset,
        metavar="KEY",
        help="API key (FLOWFORGE_API_KEY); other local users can see it in the process "
        "list: prefer --api-key-file",
    )
    group.add_argument(
        "--api-key-file",
        type=Path,
        default=unset,
        metavar="FILE",
        help="file holding the API key (FLOWFORGE_API_KEY_FILE)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="print the API's JSON and nothing else on stdout (progress goes to stderr)",
    )
    return parent


class _Verbs:
    """Adds verbs that share the gateway options and name their handler."""

    def __init__(self, subparsers: argparse._SubParsersAction):
        self.subparsers = subparsers
        self.gateway = _gateway_options(top=False)

    def add(self, name: str, handler: str, help: str) -> argparse.ArgumentParser:
        verb = self.subparsers.add_parser(name, help=help, description=help, parents=[self.gateway])
        verb.set_defaults(handler=handler)
        return verb

    def group(self, name: str, help: str) -> _Verbs:
        parser = self.subparsers.add_parser(name, help=help, description=help)
        return _Verbs(parser.add_subparsers(dest="action", required=True, metavar="ACTION"))


def _listing(verb: argparse.ArgumentParser, what: str) -> None:
    verb.add_argument("--limit", type=_positive, default=100, help=f"at most N {what} (100)")
    verb.add_argument("--all", action="store_true", help=f"all {what}, following every page")


def _waiting(verb: argparse.ArgumentParser, flag: bool = True) -> None:
    if flag:
        verb.add_argument("--wait", action="store_true", help="follow the job to its end")
    verb.add_argument(
        "--timeout", type=float, default=WAIT_SECONDS, help="seconds to wait (3600); exit 7 past it"
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def build() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowforge",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_gateway_options(top=True)],
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    verbs = _Verbs(parser.add_subparsers(dest="command", required=True, metavar="VERB"))
    _platform_verbs(verbs)
    _data_verbs(verbs)
    _action_verbs(verbs)
    _access_verbs(verbs)
    return parser


def _platform_verbs(verbs: _Verbs) -> None:
    up = verbs.subparsers.add_parser(
        "up", help="run NATS, PostgreSQL (embedded unless configured), every service, the gateway"
    )
    up.add_argument(
        "--demo", action="store_true", help="also load the bundled sample dataset and a Gold model"
    )
    up.add_argument("--port", type=int, default=None, help="gateway port (FLOWFORGE_PORT)")
    up.add_argument(
        "--replicas", type=int, default=None, help="processes per worker (FLOWFORGE_REPLICAS)"
    )
    up.set_defaults(handler="up")
    verbs.subparsers.add_parser(
        "test",
        help="run the test suite; every argument after `test` goes to pytest",
        add_help=False,
    )
    ui = verbs.subparsers.add_parser(
        "ui", help="the web UI's build: `build`, `types` (regenerate its API types), `npm ...`"
    )
    ui.add_argument("action", choices=("build", "types", "npm"))
    ui.add_argument("rest", nargs=argparse.REMAINDER, help="npm's arguments (`ui npm run test`)")
    ui.set_defaults(handler="ui")
    verbs.add("status", "flowforge.cli.status:status", "every endpoint and each service's state")
    completion = verbs.subparsers.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))
    completion.set_defaults(handler="completion")

    ingest = verbs.add("ingest", "flowforge.cli.ingest:ingest", "upload a file, follow its run")
    ingest.add_argument("file", type=Path)
    ingest.add_argument(
        "--dataset", help="dataset name (default: the file's stem)"
    ).completer = complete.datasets
    ingest.add_argument("--key", help="key column(s), comma-separated: latest row per key wins")
    ingest.add_argument(
        "--timeout", type=float, default=WAIT_SECONDS, help="seconds to wait for the run"
    )
    ingest.add_argument("--no-wait", action="store_true", help="return once the file is accepted")


def _data_verbs(verbs: _Verbs) -> None:
    runs = verbs.group("runs", "runs of landed files: stages, row counts, verdicts")
    listing = runs.add("list", "flowforge.cli.runs:list_runs", "the newest runs first")
    listing.add_argument("--dataset", help="only this dataset's runs").completer = complete.datasets
    listing.add_argument("--status", choices=("queued", "running", "succeeded", "failed"))
    _listing(listing, "runs")
    show = runs.add("show", "flowforge.cli.runs:show_run", "one run's stages, counts, checks")
    show.add_argument("run_id", metavar="ID").completer = complete.runs
    wait = runs.add("wait", "flowforge.cli.runs:wait_run", "wait for a run: exit 0 if it succeeded")
    wait.add_argument("run_id", metavar="ID").completer = complete.runs
    _waiting(wait, flag=False)

    datasets = verbs.group("datasets", "datasets: layers, row counts, last run")
    listing = datasets.add("list", "flowforge.cli.datasets:list_datasets", "every dataset")
    _listing(listing, "datasets")
    show = datasets.add("show", "flowforge.cli.datasets:show_dataset", "one dataset's layers")
    show.add_argument("name", metavar="NAME").completer = complete.datasets

    rules = verbs.group("rules", "a dataset's data-quality rules")
    get = rules.add("get", "flowforge.cli.datasets:get_rules", "print a dataset's rules")
    get.add_argument("dataset", metavar="DATASET").completer = complete.datasets
    get.add_argument("--yaml", action="store_true", help="as the YAML file `rules apply` reads")
    put = rules.add("apply", "flowforge.cli.datasets:apply_rules", "replace rules from YAML")
    put.add_argument("dataset", metavar="DATASET").completer = complete.datasets
    put.add_argument("file", type=Path, metavar="FILE.yaml")

    sources = verbs.group("connections", "source databases to extract from")
    add = sources.add("add", "flowforge.cli.connections:add", "add or replace a connection")
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "--kind", required=True, choices=("postgresql", "mysql", "sqlserver", "oracle")
    )
    add.add_argument("--host", required=True)
    add.add_argument("--port", type=int, help="(the kind's usual port)")
    add.add_argument("--database")
    add.add_argument("--user")
    add.add_argument("--option", action="append", metavar="KEY=VALUE",
                     help="e.g. sslmode=require, schema=sales, connect_timeout=5")  # fmt: skip
    secret = add.add_mutually_exclusive_group()
    secret.add_argument("--password-file", type=Path, metavar="FILE")
    secret.add_argument("--password-stdin", action="store_true")
    secret.add_argument("--ask-password", action="store_true", help="type it (not echoed)")
    sources.add("list", "flowforge.cli.connections:list_", "every connection (no passwords)")
    for verb, helptext in (("show", "one connection"), ("test", "connect: version or why not"),
                           ("rm", "remove a connection")):  # fmt: skip
        handler = {"rm": "remove"}.get(verb, verb)
        one = sources.add(verb, f"flowforge.cli.connections:{handler}", helptext)
        one.add_argument("name", metavar="NAME")
    listing = sources.add("tables", "flowforge.cli.connections:tables", "tables and views")
    listing.add_argument("name", metavar="NAME")
    listing.add_argument("--schema", help="only this schema")
    peek = sources.add("preview", "flowforge.cli.connections:preview", "a table's first rows")
    peek.add_argument("name", metavar="NAME")
    peek.add_argument("table", metavar="SCHEMA.TABLE")
    peek.add_argument("--limit", type=int, default=20)

    feeds = verbs.group("sources", "datasets fed from a source database")
    feed = feeds.add("set", "flowforge.cli.connections:set_source", "where a dataset's rows are")
    feed.add_argument("dataset", metavar="DATASET").completer = complete.datasets
    feed.add_argument("--connection", required=True)
    what = feed.add_mutually_exclusive_group(required=True)
    what.add_argument("--table", metavar="SCHEMA.TABLE")
    what.add_argument("--query-file", type=Path, metavar="FILE.sql", help="one read-only SELECT")
    feed.add_argument("--mode", choices=("full", "incremental"), default="full")
    feed.add_argument("--cursor", help="incremental: the column that grows (updated_at, id)")
    feed.add_argument("--key", help="key column(s), comma-separated: latest row per key wins")
    feed.add_argument("--lookback", type=float, help="re-read this far behind the watermark")
    feed.add_argument("--initial", help="incremental: where the first extract starts")
    shown = feeds.add("show", "flowforge.cli.connections:show_source", "a dataset's source")
    shown.add_argument("dataset", metavar="DATASET").completer = complete.datasets
    pull = verbs.add("extract", "flowforge.cli.connections:extract", "extract a dataset's source")
    pull.add_argument("dataset", metavar="DATASET").completer = complete.datasets
    pull.add_argument("--no-wait", action="store_true", help="return once the run is started")
    pull.add_argument("--timeout", type=float, default=WAIT_SECONDS, help="seconds to wait")

    query = verbs.add("sql", "flowforge.cli.sql:run", "read-only SQL over datasets and models")
    query.add_argument("query", metavar="SQL", help="one SELECT (- reads it from stdin)")
    query.add_argument("--limit", type=int, default=100, help="rows at most (100)")
    query.add_argument("--out", type=Path, metavar="FILE", help="write a .csv or .parquet")

    verbs.add("lakehouse", "flowforge.cli.lakehouse:run", "the lake's tables, for other engines")

    flows = verbs.group("workflows", "scheduled workflows: cron, after, backfill, history")
    flows.add("list", "flowforge.cli.workflows:list_", "every workflow, its next tick, last run")
    shown = flows.add("show", "flowforge.cli.workflows:show", "one workflow")
    shown.add_argument("name", metavar="NAME")
    shown.add_argument("--yaml", action="store_true", help="its definition as YAML")
    put = flows.add("apply", "flowforge.cli.workflows:apply", "add or replace one from YAML")
    put.add_argument("file", type=Path, metavar="FILE.yaml")
    for verb, helptext in (("rm", "remove a workflow"), ("pause", "stop its schedule"),
                           ("resume", "schedule it again, from now")):  # fmt: skip
        handler = {"rm": "remove"}.get(verb, verb)
        flows.add(verb, f"flowforge.cli.workflows:{handler}", helptext).add_argument(
            "name", metavar="NAME"
        )
    now = flows.add("run", "flowforge.cli.workflows:run", "run now")
    now.add_argument("name", metavar="NAME")
    now.add_argument("--date", help="for the schedule's interval ending at or before this time")
    now.add_argument("--param", action="append", metavar="KEY=VALUE", help="handed to steps")
    fill = flows.add("backfill", "flowforge.cli.workflows:backfill", "one run per interval")
    fill.add_argument("name", metavar="NAME")
    fill.add_argument("--start", required=True, help="ISO date or time")
    fill.add_argument("--end", required=True, help="ISO date or time")
    history = flows.add("runs", "flowforge.cli.workflows:runs", "a workflow's runs, newest first")
    history.add_argument("name", metavar="NAME")
    history.add_argument("--status", choices=("queued", "running", "succeeded", "failed",
                                              "cancelled", "skipped"))  # fmt: skip
    history.add_argument("--limit", type=int, default=20)
    stop = flows.add("cancel", "flowforge.cli.workflows:cancel", "cancel a run")
    stop.add_argument("name", metavar="NAME")
    stop.add_argument("run_id", metavar="RUN_ID")

    models = verbs.group("models", "Gold models: DuckDB SQL over Silver datasets")
    _listing(models.add("list", "flowforge.cli.models:list_models", "every model"), "models")
    show = models.add("show", "flowforge.cli.models:show_model", "one model: SQL, build, error")
    show.add_argument("name", metavar="NAME").completer = complete.models
    sync = models.add("sync", "flowforge.cli.models:sync_models",
                      "apply a folder of .sql models (dbt-style, schema.yml)")  # fmt: skip
    sync.add_argument("folder", type=Path, metavar="FOLDER")
    sync.add_argument("--dry-run", action="store_true", help="check the files, apply nothing")
    apply = models.add("apply", "flowforge.cli.models:apply_model", "add or replace a model")
    apply.add_argument("name", metavar="NAME").completer = complete.models
    apply.add_argument("file", type=Path, metavar="FILE.sql")
    apply.add_argument(
        "--reconcile",
        action="extend",
        nargs="+",
        metavar="COL=DATASET.COL",
        help="check after each build that sum(COL) equals the source column's sum",
    )
    _waiting(apply)


def _action_verbs(verbs: _Verbs) -> None:
    replay = verbs.add(
        "replay", "flowforge.cli.quality:replay", "re-check batches with the rules of now"
    )
    replay.add_argument("dataset", metavar="DATASET").completer = complete.datasets
    replay.add_argument(
        "--run", dest="runs", action="extend", nargs="+", metavar="ID", help="these runs (all)"
    ).completer = complete.runs
    _waiting(replay)

    release = verbs.add(
        "release", "flowforge.cli.quality:release", "let quarantined rows back in, with a reason"
    )
    release.add_argument("dataset", metavar="DATASET").completer = complete.datasets
    release.add_argument("--reason", required=True, help="why; kept with the release")
    release.add_argument("--rule", help="only rows quarantined by this rule")
    release.add_argument(
        "--run", metavar="ID", help="only this run's rows"
    ).completer = complete.runs
    release.add_argument(
        "--line", dest="lines", type=int, action="extend", nargs="+", metavar="N",
        help="only these lines of the run's file (with --run)",
    )  # fmt: skip
    release.add_argument("--all", action="store_true", help="every quarantined row")
    _waiting(release)

    jobs = verbs.group("jobs", "long operations (replays, analyses, model builds)")
    show = jobs.add("show", "flowforge.cli.jobs:show_job", "a job's state and result")
    show.add_argument("job_id", metavar="ID")
    wait = jobs.add("wait", "flowforge.cli.jobs:wait_job", "wait for a job: exit 0 if it succeeded")
    wait.add_argument("job_id", metavar="ID")
    _waiting(wait, flag=False)


ROLES = ("viewer", "analyst", "operator", "admin")
KINDS = ("postgresql", "mysql", "sqlserver", "oracle")


def _password_options(verb: argparse.ArgumentParser) -> None:
    source = verb.add_mutually_exclusive_group()
    source.add_argument(
        "--password-file", type=Path, metavar="FILE", help="read the password from FILE"
    )
    source.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin's first line"
    )


def _access_verbs(verbs: _Verbs) -> None:
    verbs.add("whoami", "flowforge.cli.access:whoami", "who the gateway takes you for, and role")
    keys = verbs.group("keys", "API keys for machines (admins)")
    create = keys.add("create", "flowforge.cli.access:create_key", "a new key, printed once")
    create.add_argument("name", metavar="NAME", help="what the key is for")
    create.add_argument("--role", choices=ROLES, required=True)
    create.add_argument("--expires", metavar="WHEN", help="ISO 8601 expiry (none: until revoked)")
    listing = keys.add("list", "flowforge.cli.access:list_keys", "keys (never the key itself)")
    listing.add_argument("--all", action="store_true", help="revoked keys too")
    revoke = keys.add("revoke", "flowforge.cli.access:revoke_key", "refuse a key from now on")
    revoke.add_argument("key_id", metavar="ID")

    users = verbs.group("users", "people who sign in to the web UI (admins)")
    add = users.add("add", "flowforge.cli.access:add_user", "a new user (password asked)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", choices=ROLES, default="viewer", help="(viewer)")
    _password_options(add)
    users.add("list", "flowforge.cli.access:list_users", "every user")
    change = users.add("set", "flowforge.cli.access:set_user", "change role, password, state")
    change.add_argument("name", metavar="NAME")
    change.add_argument("--role", choices=ROLES)
    change.add_argument("--password", action="store_true", help="set a new password (asked)")
    _password_options(change)
    state = change.add_mutually_exclusive_group()
    state.add_argument("--disable", action="store_true", help="refuse the user's sign-in")
    state.add_argument("--enable", action="store_true")
    remove = users.add("rm", "flowforge.cli.access:remove_user", "remove a user")
    remove.add_argument("name", metavar="NAME")

    subscribers = verbs.group(
        "subscribers", "read-only NATS users for systems that follow the events (this machine)"
    )
    add_sub = subscribers.add(
        "add", "flowforge.cli.subscribers:add", "a new subscriber, its password printed once"
    )
    add_sub.add_argument("name", metavar="NAME", help="lower-case letters, digits, '-', '_'")
    subscribers.add("list", "flowforge.cli.subscribers:list_", "every subscriber")
    rm_sub = subscribers.add("rm", "flowforge.cli.subscribers:remove", "remove, disconnecting it")
    rm_sub.add_argument("name", metavar="NAME")
