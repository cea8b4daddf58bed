"""Job validation: every bad input gets a message naming the field and what is allowed."""

import re
from datetime import datetime, timezone

import pytest

from collector.jobs.validation import ValidationError, split_symbols

GOOD = {"source": "sim", "symbol": "AAPL", "interval": "1d", "period": "1mo"}


def errors_for(manager, **changes):
    fields = {**GOOD, **changes}
    with pytest.raises(ValidationError) as info:
        manager.validate(fields)
    return info.value.errors


@pytest.mark.parametrize("changes, field, fragment", [
    ({"source": "bloomberg"}, "source", "choose yahoo, ibkr or sim"),
    ({"source": ""}, "source", "Choose a source"),
    ({"symbol": ""}, "symbol", "Enter a ticker symbol"),
    ({"symbol": "AA$PL"}, "symbol", "not a ticker symbol"),
    ({"symbol": "<script>alert(1)</script>"}, "symbol", "not a ticker symbol"),
    ({"symbol": "A" * 40}, "symbol", "at most 32"),
    ({"interval": "7m"}, "interval", "use one of 1s 5s"),
    ({"interval": ""}, "interval", "Choose a bar interval"),
    ({"source": "yahoo", "interval": "5s"}, "interval", "Yahoo Finance does not offer 5s bars"),
    ({"period": "2w"}, "period", "use one of 1d 5d"),
    ({"period": "", "start": ""}, "period", "Choose a period"),
    ({"period": "1y", "start": "2024-01-01"}, "period", "not both"),
    ({"period": "", "start": "yesterday"}, "start", "is not a date"),
    ({"period": "", "start": "2024-03-01", "end": "2024-02-01"}, "end", "End must be after start"),
    ({"period": "", "start": "2999-01-01"}, "start", "outside the years"),
    ({"period": "", "start": "2024-01-01 09:30 Mars/Olympus"}, "start", "unknown time zone"),
    ({"period": "", "start": "2000-01-01", "interval": "1s"}, "start", "limited to 5,000,000"),
])
def test_bad_input_names_field_and_what_is_allowed(manager, changes, field, fragment):
    errors = errors_for(manager, **changes)
    assert field in errors, errors
    assert fragment in errors[field]


def test_sim_options_are_validated(manager):
    errors = errors_for(manager, options={"delay": "forever", "colour": "red"})
    assert "A number of seconds from 0 to 5, such as 0.5 (the most is MDC_SIM_MAX_DELAY_SECONDS)" in errors["delay"]
    assert "no option 'colour'" in errors["colour"]
    assert "delay" in errors_for(manager, options={"delay": "\u0661"})  # an Arabic-Indic 1: float() reads it


def test_a_limit_of_the_source_is_said_where_the_range_came_from(manager):
    # the simulated source keeps 5,000,000 bars a job
    assert "limited to 5,000,000 per job" in errors_for(manager, interval="1s", period="1y")["period"]
    dated = errors_for(manager, interval="1s", period="", start="2023-01-01", end="2024-01-01")
    assert "limited to 5,000,000 per job" in dated["start"]


def test_short_zone_names_in_capitals_are_read(manager):
    (spec,) = manager.validate({**GOOD, "period": "", "start": "2024-03-01 09:30 UTC", "end": "2024-03-02 GMT"})
    assert spec.start == datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)


def test_good_input_normalises(manager):
    (spec,) = manager.validate({**GOOD, "symbol": " aapl ", "period": "", "start": "2024-03-01",
                                "end": "2024-03-05"})
    assert spec.symbol == "AAPL"
    assert spec.start == datetime(2024, 3, 1, tzinfo=timezone.utc)
    assert spec.end == datetime(2024, 3, 6, tzinfo=timezone.utc)  # a bare end date includes that day


@pytest.mark.parametrize("end", ["2024-03-05", "20240305", "2024-W10-2", "2024W102", "2024-03-05Z", "20240305z",
                                 "2024-03-05+00:00", "2024-03-05-0000"])
def test_every_spelling_of_a_bare_end_date_includes_that_day(manager, end):
    (spec,) = manager.validate({**GOOD, "period": "", "start": "20240301", "end": end})
    assert spec.start == datetime(2024, 3, 1, tzinfo=timezone.utc)
    assert spec.end == datetime(2024, 3, 6, tzinfo=timezone.utc)


def test_a_bare_date_with_an_offset_is_that_day_in_that_offset(manager):
    (spec,) = manager.validate({**GOOD, "period": "", "start": "2024-03-01+01:00", "end": "20240305-05"})
    assert spec.start == datetime(2024, 2, 29, 23, tzinfo=timezone.utc)
    assert spec.end == datetime(2024, 3, 6, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize("end", ["2024-03-05+99:00", "2024-03-05+1", "2024-13-05Z", "٢٠٢٤-03-05Z", "2024-W10-21",
                                 "2024-03-05+01:00:00", "2024-03-05\u221205:00", "2024-03-05Z Europe/Paris"])
def test_a_bad_offset_on_a_date_is_refused_with_a_message(manager, end):
    with pytest.raises(ValidationError) as info:
        manager.validate({**GOOD, "period": "", "start": "2024-03-01", "end": end})
    assert "end" in info.value.errors


@pytest.mark.parametrize("end, says", [("2024-03-05+01:00:00", "'+' between its date and time: use T or a space"),
                                       ("2024-03-05_09:30", "'_' between its date and time"),
                                       ("2024-W10", "a week without its day"),
                                       ("2024-W10Z", "a week without its day"),  # not Monday at midnight
                                       ("2024-W10T09:30", "a week without its day"),
                                       ("2024-03-05T09:30Z America/New_York",
                                        "both an offset (Z) and a time zone (America/New_York): keep one of them"),
                                       ("2024-03-05 09:30+01:00 Europe/Paris", "both an offset (+01:00)"),
                                       ("2024-03-05Z Europe/Paris", "both an offset (Z)")])
def test_a_date_read_strictly_says_what_is_wrong(manager, end, says):
    errors = errors_for(manager, period="", start="2024-03-01", end=end)
    assert says in errors["end"]


def test_the_years_bound_the_instant_not_the_digits(manager):
    (spec,) = manager.validate({**GOOD, "period": "", "start": "1900-01-01", "end": "2200-12-31"})
    # accepted (its whole day ends at the first instant of 2201), then cut to now as any future end
    assert spec.start == datetime(1900, 1, 1, tzinfo=timezone.utc) and spec.end_is_now
    errors = errors_for(manager, period="", start="1900-01-01+01:00", end="2024-01-01")  # 1899-12-31T23:00Z
    assert "outside the years 1900-2200" in errors["start"]


def test_zones_are_honoured(manager):
    (spec,) = manager.validate({**GOOD, "period": "", "start": "2024-03-01T09:30-05:00", "end": "2024-03-02 America/New_York"})
    assert spec.start == datetime(2024, 3, 1, 14, 30, tzinfo=timezone.utc)
    assert spec.end == datetime(2024, 3, 3, 5, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("symbol", ["^GSPC", "EURUSD=X", "ES=F", "BRK.B", "BRK-B"])
def test_symbols_people_use_are_accepted(manager, symbol):
    (spec,) = manager.validate({**GOOD, "symbol": symbol})
    assert spec.symbol == symbol


def test_several_symbols_make_several_specs():
    assert split_symbols("aapl, msft;nvda  AAPL") == ["AAPL", "MSFT", "NVDA"]


def test_a_bad_option_is_marked_on_its_field_and_says_what_is_allowed(client):
    page = client.post("/jobs", data={**GOOD, "delay": "99"}).get_data(as_text=True)
    assert 'id="field-delay" name="delay" aria-invalid="true" aria-describedby="delay-error"' in page
    assert re.search(r'<span class="field-error" id="delay-error">[^<]*A number of seconds from 0 to 5, such as 0.5', page)
