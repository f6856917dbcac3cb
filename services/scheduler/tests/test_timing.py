"""The scheduler's time math: durations, schedules across DST, due ticks and backfill."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from flowforge.common.errors import BadInputError
from flowforge.scheduler.timing import Schedule, backfill, due, parse_duration

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# (zone, spring-forward day, fall-back day) in 2026
DST_DAYS = [
    ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def ticks_per_local_day(schedule: Schedule, day: date) -> Counter[date]:
    """Count the ticks per local date over the three days centred on `day`."""
    zone = ZoneInfo(schedule.timezone)
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=2), datetime.min.time(), tzinfo=zone)
    ticks = list(schedule.ticks(start - timedelta(seconds=1), end - timedelta(seconds=1)))
    assert all(t.tzinfo is UTC for t in ticks)
    assert all(a < b for a, b in zip(ticks, ticks[1:], strict=False))
    return Counter(t.astimezone(zone).date() for t in ticks)


# --- parse_duration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("45", timedelta(seconds=45)),
        (45, timedelta(seconds=45)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text, "sla") == expected


@pytest.mark.parametrize("text", ["", "0", "0s", "1x", "1.5h", "-5m", "h", "30m1h", True, None])
def test_parse_duration_refuses_bad_input_naming_the_field(text: object) -> None:
    with pytest.raises(BadInputError, match=r"^steps\[0\]\.timeout: "):
        parse_duration(text, "steps[0].timeout")  # type: ignore[arg-type]


# --- Schedule.parse ---------------------------------------------------------------------------


def test_parse_cron_and_every() -> None:
    cron = Schedule.parse({"cron": "0 2 * * *", "timezone": "Europe/Berlin"})
    assert cron == Schedule(cron="0 2 * * *", every=None, timezone="Europe/Berlin")
    assert Schedule.parse({"every": "15m"}) == Schedule(every=timedelta(minutes=15))


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"cron": "61 * * * *"}, r"^schedule\.cron: Bad minute"),
        ({"cron": "0 2 * * FOO"}, r"^schedule\.cron: Bad day-of-week"),
        ({"cron": "0 2 * *"}, r"^schedule\.cron: expected 5 fields"),
        ({"cron": "0 0 2 * * *"}, r"^schedule\.cron: expected 5 fields"),  # no seconds field
        ({"cron": "0 2 * * *", "timezone": "Mars/Base"}, r"^schedule\.timezone: unknown time zone"),
        ({"every": "30s"}, r"^schedule\.every: at least 1m"),
        ({"every": "soon"}, r"^schedule\.every: expected a duration"),
        ({"every": "1h", "start": "now"}, r"^schedule\.start: unknown key"),
        ({"cron": "0 * * * *", "every": "1h"}, r"^schedule: give exactly one of 'cron' or 'every'"),
        ({}, r"^schedule: give exactly one"),
        ("0 2 * * *", r"^schedule: expected a mapping"),
    ],
)
def test_parse_errors_name_the_field(doc: dict, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        Schedule.parse(doc)


def test_unknown_time_zone_is_quoted() -> None:
    with pytest.raises(BadInputError, match=r"unknown time zone 'Mars/Base'"):
        Schedule.parse({"cron": "0 2 * * *", "timezone": "Mars/Base"})


def test_naive_datetimes_are_refused() -> None:
    schedule = Schedule(every=timedelta(minutes=15))
    with pytest.raises(ValueError, match="naive"):
        schedule.next_after(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        schedule.ticks(utc(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="naive"):
        due(schedule, None, datetime(2026, 1, 1), utc(2026, 1, 1), "all")


# --- DST --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("zone", "spring", "fall"), DST_DAYS)
def test_fixed_time_job_runs_once_on_dst_days(zone: str, spring: date, fall: date) -> None:
    schedule = Schedule(cron="30 2 * * *", timezone=zone)
    for day in (spring, fall):
        counts = ticks_per_local_day(schedule, day)
        assert counts == {day - timedelta(days=1): 1, day: 1, day + timedelta(days=1): 1}


@pytest.mark.parametrize(("zone", "spring", "fall"), DST_DAYS)
def test_job_in_the_gap_runs_right_after_it(zone: str, spring: date, fall: date) -> None:
    schedule = Schedule(cron="30 2 * * *", timezone=zone)
    before = datetime.combine(spring, datetime.min.time(), tzinfo=ZoneInfo(zone))
    tick = schedule.next_after(before)
    # 02:30 does not exist that day: it runs at 03:00, the first minute after the gap.
    assert tick == datetime.combine(spring, datetime.min.time(), tzinfo=ZoneInfo(zone)).replace(
        hour=3
    )


def test_job_in_the_repeated_hour_runs_on_the_first_pass_only() -> None:
    # New York repeats 01:00-02:00 on 2026-11-01 (EDT 01:30 = 05:30Z, EST 01:30 = 06:30Z).
    schedule = Schedule(cron="30 1 * * *", timezone="America/New_York")
    assert ticks_per_local_day(schedule, date(2026, 11, 1))[date(2026, 11, 1)] == 1
    assert schedule.next_after(utc(2026, 11, 1, 5)) == utc(2026, 11, 1, 5, 30)
    # From between the two passes, the next run is the next day's.
    assert schedule.next_after(utc(2026, 11, 1, 6)) == utc(2026, 11, 2, 6, 30)
    # Berlin repeats 02:00-03:00 on 2026-10-25; 02:30 CEST = 00:30Z.
    berlin = Schedule(cron="30 2 * * *", timezone="Europe/Berlin")
    assert berlin.next_after(utc(2026, 10, 25, 1)) == utc(2026, 10, 26, 1, 30)
    assert berlin.previous_tick(utc(2026, 10, 25, 1)) == utc(2026, 10, 25, 0, 30)


@pytest.mark.parametrize(("zone", "spring", "fall"), DST_DAYS)
def test_hourly_wildcard_job_runs_every_real_hour(zone: str, spring: date, fall: date) -> None:
    # Debian cron (and cronsim) applies its DST adjustments only to jobs with a fixed minute
    # and hour; a wildcard-hour job runs once per real hour: 23 runs on the spring-forward day
    # and 25 on the fall-back day (the repeated hour runs twice).
    schedule = Schedule(cron="0 * * * *", timezone=zone)
    assert ticks_per_local_day(schedule, spring)[spring] == 23
    assert ticks_per_local_day(schedule, fall)[fall] == 25


def test_fixed_hour_list_job_is_adjusted_like_debian() -> None:
    # With a fixed hour list the skipped 02:00 merges into 03:00 on the spring day, and the
    # repeated 02:00 runs once on the fall day.
    schedule = Schedule(cron="0 1,2,3 * * *", timezone="Europe/Berlin")
    assert ticks_per_local_day(schedule, date(2026, 3, 29))[date(2026, 3, 29)] == 2
    assert ticks_per_local_day(schedule, date(2026, 10, 25))[date(2026, 10, 25)] == 3


def test_daily_interval_spans_23_or_25_hours_across_dst() -> None:
    schedule = Schedule(cron="0 2 * * *", timezone="Europe/Berlin")
    tick = schedule.next_after(local(BERLIN, 2026, 6, 10, 0))
    assert tick == utc(2026, 6, 10, 0)  # 02:00 CEST
    assert schedule.interval(tick) == (utc(2026, 6, 9, 0), tick)

    # The day after spring forward: 2026-03-29 02:00 does not exist, that run is at 03:00 CEST.
    tick = schedule.next_after(local(BERLIN, 2026, 3, 30, 0))
    assert tick == local(BERLIN, 2026, 3, 30, 2)
    start, end = schedule.interval(tick)
    assert start == local(BERLIN, 2026, 3, 29, 3) and end - start == timedelta(hours=23)
    start, end = schedule.interval(start)
    assert start == local(BERLIN, 2026, 3, 28, 2) and end - start == timedelta(hours=24)

    tick = schedule.next_after(local(BERLIN, 2026, 10, 26, 0))
    start, end = schedule.interval(tick)
    # The first (CEST) 02:00. Compared in UTC: Python never finds an ambiguous local time
    # equal to a time in another zone (PEP 495).
    assert start == utc(2026, 10, 25, 0) and end == utc(2026, 10, 26, 1)
    assert end - start == timedelta(hours=25)
    assert all(t.tzinfo is UTC for t in (start, end))


def test_ticks_are_utc_and_strictly_increasing() -> None:
    schedule = Schedule(cron="*/20 * * * *", timezone="America/New_York")
    ticks = list(schedule.ticks(utc(2026, 10, 31), utc(2026, 11, 3)))
    assert len(ticks) == 72 * 3  # a wildcard-hour job follows real time, DST or not
    assert all(t.tzinfo is UTC for t in ticks)
    assert all(a < b for a, b in zip(ticks, ticks[1:], strict=False))
    assert schedule.next_after(ticks[0]) == ticks[1]


def test_next_after_is_strictly_after() -> None:
    schedule = Schedule(cron="0 * * * *")
    assert schedule.next_after(utc(2026, 1, 1, 10)) == utc(2026, 1, 1, 11)
    assert schedule.next_after(utc(2026, 1, 1, 9, 59, 59, 999999)) == utc(2026, 1, 1, 10)
    assert schedule.previous_tick(utc(2026, 1, 1, 10)) == utc(2026, 1, 1, 10)
    assert schedule.previous_tick(utc(2026, 1, 1, 10, 59)) == utc(2026, 1, 1, 10)


def test_previous_tick_finds_sparse_schedules() -> None:
    yearly = Schedule(cron="0 0 1 1 *", timezone="Europe/Berlin")
    assert yearly.previous_tick(utc(2026, 12, 31)) == local(BERLIN, 2026, 1, 1)
    leap_day = Schedule(cron="0 0 29 2 *")
    assert leap_day.previous_tick(utc(2027, 12, 31)) == utc(2024, 2, 29)
    assert leap_day.interval(utc(2028, 2, 29)) == (utc(2024, 2, 29), utc(2028, 2, 29))


# --- every ------------------------------------------------------------------------------------


def test_every_ticks_at_multiples_since_the_epoch() -> None:
    schedule = Schedule.parse({"every": "15m"})
    assert list(schedule.ticks(utc(2026, 5, 1, 10, 7), utc(2026, 5, 1, 11))) == [
        utc(2026, 5, 1, 10, 15),
        utc(2026, 5, 1, 10, 30),
        utc(2026, 5, 1, 10, 45),
        utc(2026, 5, 1, 11, 0),
    ]
    assert schedule.next_after(utc(2026, 5, 1, 10, 15)) == utc(2026, 5, 1, 10, 30)
    assert schedule.previous_tick(utc(2026, 5, 1, 10, 29, 59)) == utc(2026, 5, 1, 10, 15)
    assert schedule.interval(utc(2026, 5, 1, 10, 30)) == (
        utc(2026, 5, 1, 10, 15),
        utc(2026, 5, 1, 10, 30),
    )
    # The input's zone does not matter: ticks are UTC-aligned and come back in UTC.
    tick = schedule.next_after(local(BERLIN, 2026, 5, 1, 12, 7))
    assert tick == utc(2026, 5, 1, 10, 15) and tick.tzinfo is UTC


# --- due --------------------------------------------------------------------------------------

HOURLY = Schedule(cron="0 * * * *", timezone="Europe/Berlin")
CREATED = utc(2026, 1, 1)


def test_due_after_an_outage() -> None:
    # Last run at 10:00; the scheduler was down until 13:02, missing 11:00, 12:00 and 13:00.
    last, now = utc(2026, 5, 1, 10), utc(2026, 5, 1, 13, 2)
    missed = [utc(2026, 5, 1, 11), utc(2026, 5, 1, 12), utc(2026, 5, 1, 13)]
    assert due(HOURLY, last, CREATED, now, "all") == (missed, [])
    assert due(HOURLY, last, CREATED, now, "latest") == (missed[2:], missed[:2])
    assert due(HOURLY, last, CREATED, now, "none") == (missed[2:], missed[:2])  # 2 min late
    late = utc(2026, 5, 1, 13, 6)
    assert due(HOURLY, last, CREATED, late, "none") == ([], missed)
    exactly_grace = utc(2026, 5, 1, 13, 5)
    assert due(HOURLY, last, CREATED, exactly_grace, "none") == (missed[2:], missed[:2])
    assert due(HOURLY, last, CREATED, late, "none", grace=timedelta(minutes=10))[0] == missed[2:]


def test_due_for_a_fresh_workflow() -> None:
    created = utc(2026, 5, 1, 10, 10)
    for catchup in ("all", "latest", "none"):
        assert due(HOURLY, None, created, utc(2026, 5, 1, 10, 59), catchup) == ([], [])
        now = utc(2026, 5, 1, 11, 0, 5)
        assert due(HOURLY, None, created, now, catchup) == ([utc(2026, 5, 1, 11)], [])


def test_due_nothing_when_up_to_date() -> None:
    last = utc(2026, 5, 1, 11)
    assert due(HOURLY, last, CREATED, utc(2026, 5, 1, 11, 30), "all") == ([], [])


def test_due_all_caps_and_leaves_the_rest_for_later() -> None:
    schedule = Schedule(every=timedelta(minutes=1))
    last, now = utc(2026, 5, 1), utc(2026, 5, 2)  # 1440 missed
    fire, skipped = due(schedule, last, CREATED, now, "all")
    assert len(fire) == 1000 and skipped == []
    assert fire[0] == utc(2026, 5, 1, 0, 1) and fire[-1] == utc(2026, 5, 1, 16, 40)
    fire, _ = due(schedule, fire[-1], CREATED, now, "all")
    assert len(fire) == 440 and fire[-1] == now


def test_due_refuses_an_unknown_catchup() -> None:
    with pytest.raises(BadInputError, match=r"^catchup: "):
        due(HOURLY, None, CREATED, utc(2026, 5, 1), "some")


# --- backfill ---------------------------------------------------------------------------------


def test_backfill_30_days() -> None:
    schedule = Schedule(cron="0 2 * * *", timezone="Europe/Berlin")
    # Ticks from 2026-03-14 02:00 to 2026-04-12 02:00 local (04-13 02:00 CEST is after the end).
    intervals = backfill(schedule, utc(2026, 3, 14), utc(2026, 4, 12, 12))
    assert len(intervals) == 30
    assert intervals[0] == (local(BERLIN, 2026, 3, 13, 2), local(BERLIN, 2026, 3, 14, 2))
    assert intervals[-1] == (local(BERLIN, 2026, 4, 11, 2), local(BERLIN, 2026, 4, 12, 2))
    for (_, end), (start, _) in zip(intervals, intervals[1:], strict=False):
        assert end == start  # consecutive, no gaps or overlaps
    assert all(start < end for start, end in intervals)
    lengths = Counter(end - start for start, end in intervals)
    # Only (03-29 03:00 CEST, 03-30 02:00 CEST) is short: 02:00 did not exist on 03-29.
    assert lengths == {timedelta(hours=24): 29, timedelta(hours=23): 1}


def test_backfill_every() -> None:
    schedule = Schedule(every=timedelta(hours=1))
    intervals = backfill(schedule, utc(2026, 5, 1), utc(2026, 5, 1, 3))
    assert intervals == [
        (utc(2026, 5, 1, 0), utc(2026, 5, 1, 1)),
        (utc(2026, 5, 1, 1), utc(2026, 5, 1, 2)),
        (utc(2026, 5, 1, 2), utc(2026, 5, 1, 3)),
    ]


def test_backfill_refuses_bad_ranges() -> None:
    schedule = Schedule(cron="0 2 * * *")
    with pytest.raises(BadInputError, match=r"^backfill: more than 1000"):
        backfill(schedule, utc(2020, 1, 1), utc(2026, 1, 1))
    with pytest.raises(BadInputError, match=r"^backfill: more than 10"):
        backfill(schedule, utc(2026, 1, 1), utc(2026, 1, 31), limit=10)
    with pytest.raises(BadInputError, match=r"^backfill: end must be after start"):
        backfill(schedule, utc(2026, 1, 2), utc(2026, 1, 1))
    assert backfill(schedule, utc(2026, 1, 1, 3), utc(2026, 1, 1, 4)) == []
