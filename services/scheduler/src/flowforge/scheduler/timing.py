"""A workflow scheduler's time math: durations, schedules, due ticks, catch-up and backfill.

Pure: no I/O and no clock reads; callers pass `now`. Every datetime going in or out of the
public functions is timezone-aware (naive ones are refused with ValueError) and comes out in UTC.

Cron schedules are evaluated in their time zone by cronsim, which mimics Debian cron around DST:
a job at a fixed local time that falls into the spring-forward gap runs once, right after the
gap; a fixed-time job in the repeated fall-back hour runs once (on the first pass); jobs with a
wildcard minute or hour run every real hour (23 on the spring day, 25 on the fall day).
`every` schedules tick at the multiples of `every` since the Unix epoch, in UTC.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice, takewhile
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from flowforge.common.errors import BadInputError

CATCHUP = ("all", "latest", "none")
MAX_CATCHUP = 1000  # ticks fired by one due() call with catchup "all"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# previous_tick searches forward from ever earlier starts; the last window (~4 years) still
# finds the previous run of a Feb 29 job.
_LOOKBACK = tuple(timedelta(hours=h) for h in (1, 24, 8 * 24, 400 * 24, 1500 * 24))
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?|(\d+)", re.ASCII)


def _utc(t: datetime) -> datetime:
    """`t` in UTC; ValueError if it is naive."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {t!r}")
    return t.astimezone(UTC)


def parse_duration(text: str | int, field: str) -> timedelta:
    """Parse "90s", "15m", "2h", "1d", "1h30m" or a bare number of seconds (at least 1s)."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) and text.strip() else None
    if match is None:
        raise BadInputError(
            f"{field}: expected a duration like 90s, 15m, 1h30m or 1d, got {text!r}"
        )
    days, hours, minutes, seconds, bare = (int(g or 0) for g in match.groups())
    try:
        value = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds + bare)
    except OverflowError:
        raise BadInputError(f"{field}: duration {text!r} is too long") from None
    if value < timedelta(seconds=1):
        raise BadInputError(f"{field}: at least 1s")
    return value


@dataclass(frozen=True)
class Schedule:
    """When a workflow runs: a 5-field cron expression in `timezone`, or a fixed `every`."""

    cron: str | None = None
    every: timedelta | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        # Checked here too, so a Schedule built in code is as valid as a parsed one.
        if (self.cron is None) == (self.every is None):
            raise BadInputError("schedule: give exactly one of 'cron' or 'every'")
        if self.cron is not None:
            if not isinstance(self.cron, str) or len(self.cron.split()) != 5:
                raise BadInputError(
                    f"schedule.cron: expected 5 fields (minute hour day month weekday), "
                    f"got {self.cron!r}"
                )
            try:
                CronSim(self.cron, _EPOCH)
            except CronSimError as e:
                raise BadInputError(f"schedule.cron: {e} in {self.cron!r}") from None
        if self.every is not None and self.every < timedelta(minutes=1):
            raise BadInputError("schedule.every: at least 1m")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise BadInputError(f"schedule.timezone: unknown time zone {self.timezone!r}") from None

    @classmethod
    def parse(cls, doc: dict) -> Schedule:
        """Build from {"cron": "0 2 * * *", "timezone": "Europe/Berlin"} or {"every": "15m"}."""
        if not isinstance(doc, dict):
            raise BadInputError("schedule: expected a mapping with 'cron' or 'every'")
        for key in doc:
            if key not in ("cron", "every", "timezone"):
                raise BadInputError(f"schedule.{key}: unknown key (expected cron, every, timezone)")
        every = doc.get("every")
        return cls(
            cron=doc.get("cron"),
            every=None if every is None else parse_duration(every, "schedule.every"),
            timezone=doc.get("timezone", "UTC"),
        )

    def _after(self, t: datetime) -> Iterator[datetime]:
        """All ticks strictly after `t` (UTC), in order."""
        if self.every is not None:
            tick = _EPOCH + ((t - _EPOCH) // self.every + 1) * self.every
            while True:
                yield tick
                tick += self.every
        # cronsim skips its DST handling only for datetime.UTC itself, not ZoneInfo("UTC").
        zone = UTC if self.timezone == "UTC" else ZoneInfo(self.timezone)
        last = t
        for local in CronSim(self.cron, t.astimezone(zone)):
            tick = local.astimezone(UTC)
            # For fixed-time jobs cronsim works on naive wall time, so from inside a repeated
            # (fall-back) hour it returns that hour's first pass again, which lies behind us.
            if tick > last:
                yield tick
                last = tick

    def next_after(self, t: datetime) -> datetime:
        """The first tick strictly after `t`."""
        tick = next(self._after(_utc(t)), None)
        if tick is None:  # cronsim gives up after 50 years without a match
            raise ValueError(f"schedule {self.cron!r} has no tick after {t.isoformat()}")
        return tick

    def ticks(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """The ticks in (after, until], in order."""
        until = _utc(until)
        return takewhile(lambda tick: tick <= until, self._after(_utc(after)))

    def previous_tick(self, t: datetime) -> datetime | None:
        """The last tick at or before `t`; None if there is none within ~4 years."""
        t = _utc(t)
        if self.every is not None:
            return _EPOCH + (t - _EPOCH) // self.every * self.every
        # Searching forward (not cronsim's reverse mode) keeps the DST rules of next_after.
        for window in _LOOKBACK:
            last = deque(self.ticks(t - window, t), maxlen=1)
            if last:
                return last[0]
        return None

    def interval(self, tick: datetime) -> tuple[datetime, datetime]:
        """The logical interval a run at `tick` covers: (the tick before it, tick)."""
        tick = _utc(tick)
        if self.every is not None:
            return tick - self.every, tick
        previous = self.previous_tick(tick - timedelta(microseconds=1))
        if previous is None:
            raise ValueError(f"schedule {self.cron!r} has no tick before {tick.isoformat()}")
        return previous, tick


def due(
    schedule: Schedule,
    last_fired: datetime | None,
    created_at: datetime,
    now: datetime,
    catchup: str,
    grace: timedelta = timedelta(minutes=5),
) -> tuple[list[datetime], list[datetime]]:
    """(to_fire, skipped) among the ticks missed since last_fired (or created_at) up to now.

    all: every missed tick, at most MAX_CATCHUP of the oldest (the rest come on later calls);
    latest: only the newest, the others skipped; none: the newest only if it is at most
    `grace` old, everything else skipped.
    """
    if catchup not in CATCHUP:
        raise BadInputError(f"catchup: expected one of {', '.join(CATCHUP)}, got {catchup!r}")
    created_at = _utc(created_at)
    since = created_at if last_fired is None else _utc(last_fired)
    now = _utc(now)
    if catchup == "all":
        return list(islice(schedule.ticks(since, now), MAX_CATCHUP)), []
    missed = list(schedule.ticks(since, now))
    if missed and (catchup == "latest" or now - missed[-1] <= grace):
        return missed[-1:], missed[:-1]
    return [], missed


def backfill(
    schedule: Schedule, start: datetime, end: datetime, limit: int = 1000
) -> list[tuple[datetime, datetime]]:
    """The logical intervals of every tick in (start, end], oldest first."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        raise BadInputError("backfill: end must be after start")
    ticks = list(islice(schedule.ticks(start, end), limit + 1))
    if len(ticks) > limit:
        raise BadInputError(f"backfill: more than {limit} intervals; choose a shorter range")
    if not ticks:
        return []
    # Each interval starts at the previous tick, so only the first needs a search.
    first_start, _ = schedule.interval(ticks[0])
    return list(zip([first_start, *ticks[:-1]], ticks, strict=True))
