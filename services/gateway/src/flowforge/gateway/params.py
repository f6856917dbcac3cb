"""Path parameters with their constraints in the OpenAPI document (not only in code), so a
client validating against the schema and the server agree on what is acceptable."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
NAME_RULE = "lower-case letters, digits and '_', starting with a letter, at most 63 characters"

DatasetName = Annotated[
    str, Path(pattern=NAME_PATTERN, description=f"the dataset's name ({NAME_RULE})")
]
ModelName = Annotated[
    str, Path(pattern=NAME_PATTERN, description=f"the model's name ({NAME_RULE})")
]
RunId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$", description="a run's id")
]
JobId = Annotated[str, Path(pattern=r"^[a-f0-9]{32}$", description="a job's id")]
SuggestionId = Annotated[int, Path(ge=1, le=2**63 - 1, description="a suggestion's id")]
RuleName = Annotated[str, Path(min_length=1, max_length=200, description="a rule's name")]
ConnectionName = Annotated[
    str, Path(pattern=NAME_PATTERN, description=f"the connection's name ({NAME_RULE})")
]
