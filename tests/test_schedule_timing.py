"""When watchlists run: slot times on exchange calendars, every N minutes and cron, with
the time given (no waiting for a real clock)."""

from datetime import datetime, timedelta, timezone

import pytest

from collector.schedules import Schedule

UTC = timezone.utc
AFTER_CLOSE = Schedule("after_close")  # XNYS, 30 minutes after the close


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def slots(schedule: Schedule, start: str, n: int) -> list[str]:
    out, t = [], at(start)
    for _ in range(n):
        t = schedule.following(t)
        out.append(t.strftime("%a %Y-%m-%d %H:%M"))
    return out


def test_after_the_close_skips_thanksgiving_and_runs_early_on_the_half_day_after_it():
    # Thanksgiving 2026 is Thursday 26 November (closed); Friday 27 closes at 13:00 New York = 18:00 UTC.
    assert slots(AFTER_CLOSE, "2026-11-25T12:00", 3) == [
        "Wed 2026-11-25 21:30", "Fri 2026-11-27 18:30", "Mon 2026-11-30 21:30"]


@pytest.mark.parametrize("start, expected", [
    ("2026-07-02T12:00", ["Thu 2026-07-02 20:30", "Mon 2026-07-06 20:30"]),  # 4 July on a Saturday: closed Friday 3
    ("2026-12-24T12:00", ["Thu 2026-12-24 18:30", "Mon 2026-12-28 21:30"]),  # Christmas Eve half day, Christmas closed
    ("2027-01-14T12:00", ["Thu 2027-01-14 21:30", "Fri 2027-01-15 21:30", "Tue 2027-01-19 21:30"]),  # MLK day
])
def test_after_the_close_has_no_run_on_holidays_or_weekends(start, expected):
    assert slots(AFTER_CLOSE, start, len(expected)) == expected


def test_after_the_close_follows_new_york_across_daylight_saving_changes():
    # US clocks go forward on 8 March 2026 and back on 1 November 2026: 16:00 New York is 21:00 then 20:00 UTC.
    assert slots(AFTER_CLOSE, "2026-03-05T22:00", 3) == [
        "Fri 2026-03-06 21:30", "Mon 2026-03-09 20:30", "Tue 2026-03-10 20:30"]
    assert slots(AFTER_CLOSE, "2026-10-29T22:00", 3) == [
        "Fri 2026-10-30 20:30", "Mon 2026-11-02 21:30", "Tue 2026-11-03 21:30"]


def test_after_the_close_on_another_calendar_with_its_own_offset():
    paris = Schedule("after_close", calendar="XPAR", offset_minutes=0)  # Euronext Paris closes 17:30 local
    assert slots(paris, "2026-03-27T12:00", 2) == ["Fri 2026-03-27 16:30", "Mon 2026-03-30 15:30"]


def test_previous_slot_is_the_newest_at_or_before_now():
    assert AFTER_CLOSE.previous(at("2026-11-27T18:30")) == at("2026-11-27T18:30")
    assert AFTER_CLOSE.previous(at("2026-11-27T18:29")) == at("2026-11-25T21:30")
    assert AFTER_CLOSE.previous(at("2026-11-29T12:00")) == at("2026-11-27T18:30")  # Sunday


def test_cron_in_paris_keeps_paris_time_across_the_daylight_saving_change():
    weekdays = Schedule("cron", cron="0 18 * * 1-5", timezone="Europe/Paris")
    # Europe goes forward on 29 March 2026: 18:00 in Paris is 17:00 UTC, then 16:00 UTC.
    assert slots(weekdays, "2026-03-26T20:00", 3) == [
        "Fri 2026-03-27 17:00", "Mon 2026-03-30 16:00", "Tue 2026-03-31 16:00"]
    assert weekdays.previous(at("2026-03-30T16:00")) == at("2026-03-30T16:00")
    assert weekdays.previous(at("2026-03-29T12:00")) == at("2026-03-27T17:00")


def test_cron_at_a_time_that_does_not_exist_or_happens_twice_runs_once():
    night = Schedule("cron", cron="30 2 * * *", timezone="Europe/Paris")
    # 29 March: 02:30 does not exist (02:00 -> 03:00): it runs at 03:00 CEST = 01:00 UTC.
    assert slots(night, "2026-03-28T12:00", 2) == ["Sun 2026-03-29 01:00", "Mon 2026-03-30 00:30"]
    # 25 October: 02:30 happens twice (03:00 -> 02:00): it runs the first time only.
    assert slots(night, "2026-10-24T12:00", 2) == ["Sun 2026-10-25 00:30", "Mon 2026-10-26 01:30"]
    assert night.previous(at("2026-10-25T01:45")) == at("2026-10-25T00:30")


def test_every_n_minutes_only_while_open_from_open_to_close_on_session_days_only():
    half_hourly = Schedule("every", every_minutes=30, market_hours_only=True)
    # Friday 27 November 2026 opens 09:30 and closes early at 13:00 New York (14:30-18:00 UTC).
    friday = slots(half_hourly, "2026-11-27T14:00", 9)
    assert friday == [f"Fri 2026-11-27 {h}" for h in ("14:30", "15:00", "15:30", "16:00", "16:30", "17:00",
                                                       "17:30", "18:00")] + ["Mon 2026-11-30 14:30"]
    assert half_hourly.previous(at("2026-11-26T16:00")) == at("2026-11-25T21:00")  # Thanksgiving: closed all day
    assert half_hourly.previous(at("2026-11-27T15:10")) == at("2026-11-27T15:00")


def test_every_n_minutes_around_the_clock_is_aligned_to_midnight_utc():
    quarter = Schedule("every", every_minutes=15)
    assert quarter.previous(at("2026-11-28T10:07")) == at("2026-11-28T10:00")  # a Saturday too
    assert slots(quarter, "2026-11-28T23:50", 2) == ["Sun 2026-11-29 00:00",
                                                    "Sun 2026-11-29 00:15"]


def test_a_shorter_minute_for_tests_and_demos():
    fast = Schedule("every", every_minutes=1, minute_s=2)
    assert fast.following(at("2026-11-28T10:00")) == at("2026-11-28T10:00") + timedelta(seconds=2)


@pytest.mark.parametrize("schedule, words", [
    (AFTER_CLOSE, "30 min after each close of XNYS"),
    (Schedule("every", every_minutes=5, market_hours_only=True), "Every 5 minutes while XNYS is open"),
    (Schedule("cron", cron="0 18 * * 1-5", timezone="Europe/Paris"), "Cron “0 18 * * 1-5” in Europe/Paris"),
    (Schedule("none"), "No schedule"),
])
def test_plain_words(schedule, words):
    assert words in schedule.describe()
    assert schedule.previous(at("2026-11-27T20:00")) is not None or schedule.kind == "none"
