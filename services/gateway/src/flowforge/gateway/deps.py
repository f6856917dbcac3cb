"""The gateway's resources and their FastAPI dependency aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from faststream.nats import NatsBroker

from flowforge.common.settings import Settings
from flowforge.common.storage import LakeFiles, ObjectStore
from flowforge.gateway.state import State


@dataclass
class Gateway:
    settings: Settings
    broker: NatsBroker
    state: State
    store: ObjectStore
    files: LakeFiles


def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
