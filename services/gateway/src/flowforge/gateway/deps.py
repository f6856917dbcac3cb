"""The gateway's resources and their FastAPI dependency aliases."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from faststream.nats import NatsBroker

from flowforge.common.settings import Settings
from flowforge.common.storage import LakeFiles, ObjectStore
from flowforge.gateway.jobs import JobRunner
from flowforge.gateway.live import Hub
from flowforge.gateway.owners import Owners
from flowforge.gateway.records import Uploads


class ProgressBoard:
    """The latest live progress figure of runs in flight (what ingest last reported)."""

    LIMIT = 1000

    def __init__(self) -> None:
        self.figures: OrderedDict[str, dict] = OrderedDict()

    def update(self, figure: dict) -> None:
        run_id = str(figure.get("run_id", ""))
        if run_id:
            self.figures[run_id] = {k: figure.get(k) for k in ("stage", "done", "total", "unit")}
            self.figures.move_to_end(run_id)
            while len(self.figures) > self.LIMIT:
                self.figures.popitem(last=False)

    def get(self, run_id: str) -> dict | None:
        return self.figures.get(run_id)


@dataclass
class Gateway:
    settings: Settings
    broker: NatsBroker
    store: ObjectStore
    files: LakeFiles
    progress: ProgressBoard
    owners: Owners
    uploads: Uploads
    jobs: JobRunner
    live: Hub = field(default_factory=Hub)  # the live event stream's fan-out


def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
