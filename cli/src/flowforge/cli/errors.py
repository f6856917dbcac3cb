"""Exit codes of the `flowforge` command and the errors that carry them.

A script branches on the exit code, so each code means one kind of outcome whatever the verb;
docs/cli.md and `flowforge --help` list them."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    FAILED = 1  # the run or job failed, or the gateway failed (5xx, 429)
    USAGE = 2  # bad command line, missing local file, or the gateway refused the input (400/422)
    UNREACHABLE = 3  # no gateway answered at the URL
    REFUSED = 4  # authentication or authorisation refused (401/403)
    NOT_FOUND = 5  # no such run, dataset, model, job (404)
    CONFLICT = 6  # the state does not allow it (409/412)
    TIMEOUT = 7  # waited longer than --timeout, or the gateway timed out (408/504)


EXIT_CODES_HELP = """exit codes:
  0  ok
  1  failed: the run or job failed, or the gateway failed (5xx, 429)
  2  usage: bad arguments, a missing local file, or input the gateway refused (400, 413, 422)
  3  the gateway is unreachable
  4  authentication or authorisation refused (401, 403)
  5  not found (404)
  6  conflict (409, 412)
  7  timed out (--timeout passed, or 408, 504)"""


class CliError(Exception):
    """What went wrong, said to a person, and the exit code that tells a script."""

    code = Exit.FAILED

    def __init__(self, message: str, code: Exit | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class UsageError(CliError):
    code = Exit.USAGE


class Unreachable(CliError):
    code = Exit.UNREACHABLE


class TimedOut(CliError):
    code = Exit.TIMEOUT


def exit_for_status(status: int) -> Exit:
    """The exit code of a refused HTTP request."""
    if status in (401, 403):
        return Exit.REFUSED
    if status == 404:
        return Exit.NOT_FOUND
    if status in (409, 412):
        return Exit.CONFLICT
    if status in (408, 504):
        return Exit.TIMEOUT
    if 400 <= status < 500 and status != 429:
        return Exit.USAGE
    return Exit.FAILED
