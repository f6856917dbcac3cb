"""The FlowForge error tree.

    FlowForgeError
     ├─ PermanentError     retrying cannot help: bad file, unknown dataset, contract violation
     │   ├─ BadInputError  the user's data or request is wrong (maps to HTTP 400/422)
     │   └─ NotFoundError  the named thing does not exist (HTTP 404)
     └─ TransientError     retrying may help: timeouts, lost connections

The bus wrapper maps PermanentError to dead-letter and TransientError to nak with backoff.
Adapters translate third-party exceptions into these with `raise ... from`.
"""


class FlowForgeError(Exception):
    """Base of every error FlowForge raises on purpose. Its message is meant for a person."""


class PermanentError(FlowForgeError):
    """Retrying cannot help."""


class BadInputError(PermanentError):
    """The input (a file, a request) is wrong; the message says where and how."""


class NotFoundError(PermanentError):
    """The named dataset, run, model or object does not exist."""


class ConflictError(PermanentError):
    """The request conflicts with existing state."""


class TransientError(FlowForgeError):
    """Retrying may help (timeouts, connections, a dependency restarting)."""
