"""Meter readings: never backwards on one meter, implausible jumps held for review, estimates, meter replacement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ledger.errors import (
    InvalidInput,
    NothingToBill,
    ReadingIdConflict,
    ReadingOutOfOrder,
    ReadingWentBackwards,
)


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 9, tzinfo=UTC)


@pytest.fixture
def sub(app, register) -> str:
    register("DI-1", initial=1000)
    return "DI-1"


def test_a_reading_records_the_consumption_since_the_last_actual_reading(app, sub):
    first = app.submit_reading(sub, 1400, at(2, 20), "reader")
    assert (first["reading_kwh"], first["consumption_kwh"], first["flagged"]) == (1400, 400, False)
    second = app.submit_reading(sub, 1650, at(3, 22), "self")
    assert (second["consumption_kwh"], second["source"], second["meter_no"]) == (250, "self", "M1")
    assert second["read_at"] == "2026-03-22T09:00:00+00:00"
    assert app.subscriber(sub)["last_reading_kwh"] == 1650
    assert [r["reading_id"] for r in app.readings(sub)] == [first["reading_id"], second["reading_id"]]


def test_a_reading_below_the_last_one_is_refused(app, sub, refused):
    app.submit_reading(sub, 1400, at(2, 20), "reader")
    with refused(ReadingWentBackwards, "reads 1399 kWh, below its last reading of 1400 kWh"):
        app.submit_reading(sub, 1399, at(3, 20), "reader")
    with refused(ReadingWentBackwards, "below its last reading of 1400 kWh"):
        app.submit_reading(sub, 1300, at(3, 20), "estimated")


def test_a_reading_below_the_initial_reading_is_refused(app, sub, refused):
    with refused(ReadingWentBackwards, "reads 999 kWh, below its last reading of 1000 kWh"):
        app.submit_reading(sub, 999, at(2, 20), "estimated")


def test_a_reading_taken_before_the_last_one_is_refused(app, sub, refused):
    app.submit_reading(sub, 1400, at(2, 20), "reader")
    with refused(ReadingOutOfOrder, "is older than the last reading on meter M1"):
        app.submit_reading(sub, 1500, at(2, 19), "reader")


def test_an_identical_resubmission_returns_the_same_reading_and_adds_no_event(app, sub, events_of):
    first = app.submit_reading(sub, 1400, at(2, 20), "self")
    later = app.submit_reading(sub, 1500, at(3, 20), "self")
    count = len(events_of(sub))
    before = app.recorder.max_notification_id()
    assert app.submit_reading(sub, 1400, at(2, 20), "self") == first
    assert app.submit_reading(sub, 1500, at(3, 20).astimezone(timezone(timedelta(hours=3))), "self") == later
    assert app.recorder.max_notification_id() == before and len(events_of(sub)) == count


def test_the_same_reading_resubmitted_from_another_source_is_a_conflict(app, sub, refused):
    first = app.submit_reading(sub, 1400, at(2, 20), "self")
    with refused(ReadingIdConflict, "already recorded"):
        app.submit_reading(sub, 1400, at(2, 20), "reader")
    assert app.readings(sub) == [first]


def test_a_reading_in_the_future_or_without_a_timezone_is_refused(app, sub, refused, clock):
    with refused(InvalidInput, "lies in the future"):
        app.submit_reading(sub, 1400, clock.now + timedelta(hours=1), "reader")
    with refused(InvalidInput, "must carry a timezone"):
        app.submit_reading(sub, 1400, datetime(2026, 2, 20, 9), "reader")


def test_a_reading_with_an_unknown_source_or_a_bad_value_is_refused(app, sub, refused):
    with refused(InvalidInput, "'guess' is not one of self, reader, estimated"):
        app.submit_reading(sub, 1400, at(2, 20), "guess")
    with refused(InvalidInput, "reading_kwh must be a whole number"):
        app.submit_reading(sub, 1400.5, at(2, 20), "reader")


def test_an_implausible_jump_is_accepted_but_flagged_and_not_billed(app, sub, refused):
    app.submit_reading(sub, 1300, at(2, 1), "reader")
    app.submit_reading(sub, 1600, at(3, 3), "reader")  # 300 kWh in 30 days: 10 kWh a day
    app.issue_bill(sub, "2026-C2")
    # 30 days at 10x 10 kWh a day allows 3000 kWh; 3001 is an implausible jump.
    jump = app.submit_reading(sub, 4601, at(4, 2), "self")
    assert jump["flagged"] is True and jump["consumption_kwh"] == 3001
    assert app.subscriber(sub)["last_reading_kwh"] == 1600
    with refused(NothingToBill, "no new reading since the last bill"):
        app.issue_bill(sub, "2026-C3")


def test_a_jump_just_within_ten_times_the_average_daily_use_is_billed(app, sub):
    app.submit_reading(sub, 1300, at(2, 1), "reader")
    app.submit_reading(sub, 1600, at(3, 3), "reader")
    app.issue_bill(sub, "2026-C2")
    reading = app.submit_reading(sub, 4600, at(4, 2), "self")
    assert reading["flagged"] is False
    assert app.issue_bill(sub, "2026-C3")["kwh"] == 3000


def test_the_first_reading_is_judged_against_a_default_daily_use(app, sub):
    # No history yet: 30 kWh a day for a residential meter over a 61-day span, times ten.
    assert app.submit_reading(sub, 1000 + 18300, at(2, 1), "self")["flagged"] is False
    app.register_subscriber("DI-2", "SY-DI", "residential", "M2", 1000, "Second")
    assert app.submit_reading("DI-2", 1000 + 18301, at(2, 1), "self")["flagged"] is True


def test_a_flagged_reading_accepted_on_review_becomes_billable(app, sub):
    app.submit_reading(sub, 1300, at(2, 1), "reader")
    app.submit_reading(sub, 1600, at(3, 3), "reader")
    app.issue_bill(sub, "2026-C2")
    jump = app.submit_reading(sub, 9000, at(4, 2), "self")
    reviewed = app.review_reading(sub, jump["reading_id"], True, "meter photo checked")
    assert reviewed["flagged"] is False
    assert app.subscriber(sub)["last_reading_kwh"] == 9000
    assert app.issue_bill(sub, "2026-C3")["kwh"] == 7400


def test_a_flagged_reading_rejected_on_review_is_never_billed(app, sub, refused):
    app.submit_reading(sub, 1300, at(2, 1), "reader")
    app.submit_reading(sub, 1600, at(3, 3), "reader")
    app.issue_bill(sub, "2026-C2")
    jump = app.submit_reading(sub, 9000, at(4, 2), "self")
    app.review_reading(sub, jump["reading_id"], False, "typo: one zero too many")
    with refused(NothingToBill):
        app.issue_bill(sub, "2026-C3")
    assert app.submit_reading(sub, 1900, at(5, 2), "reader")["flagged"] is False
    assert app.issue_bill(sub, "2026-C3")["kwh"] == 300


def test_accepting_a_flagged_reading_above_a_later_reading_is_refused(app, sub, refused):
    app.submit_reading(sub, 1300, at(2, 1), "reader")
    app.submit_reading(sub, 1600, at(3, 3), "reader")
    jump = app.submit_reading(sub, 9000, at(4, 2), "self")
    app.submit_reading(sub, 1900, at(5, 2), "reader")
    with refused(ReadingWentBackwards, "later reading"):
        app.review_reading(sub, jump["reading_id"], True, "looks fine")
    assert app.subscriber(sub)["last_reading_kwh"] == 1900


def test_only_a_flagged_reading_can_be_reviewed(app, sub, refused):
    reading = app.submit_reading(sub, 1300, at(2, 1), "reader")
    with refused(InvalidInput, "is not awaiting review"):
        app.review_reading(sub, reading["reading_id"], True, "fine")


def test_an_estimated_reading_is_billable(app, sub):
    estimate = app.submit_reading(sub, 1500, at(2, 20), "estimated")
    assert estimate["source"] == "estimated" and estimate["flagged"] is False
    assert app.issue_bill(sub, "2026-C1")["kwh"] == 500


def test_an_actual_reading_below_an_estimate_but_not_below_the_last_actual_is_accepted(app, sub, refused):
    app.submit_reading(sub, 1500, at(2, 20), "estimated")
    app.issue_bill(sub, "2026-C1")
    actual = app.submit_reading(sub, 1300, at(3, 20), "reader")
    assert (actual["reading_kwh"], actual["consumption_kwh"], actual["flagged"]) == (1300, 300, False)
    assert app.subscriber(sub)["last_reading_kwh"] == 1300
    with refused(ReadingWentBackwards, "below its last reading of 1300 kWh"):
        app.submit_reading(sub, 1299, at(4, 20), "reader")
    app.submit_reading(sub, 1800, at(5, 20), "reader")
    # Over both bills the subscriber pays for exactly what the meter advanced: 1800 - 1000 kWh.
    assert app.issue_bill(sub, "2026-C3")["kwh"] == 300
    assert sum(b["kwh"] for b in app.bills(sub)) == 800


def test_a_replaced_meter_accepts_the_new_meters_lower_readings_and_bills_the_old_meters_rest(app, sub, refused):
    app.submit_reading(sub, 1400, at(2, 20), "reader")
    app.issue_bill(sub, "2026-C1")
    app.submit_reading(sub, 1500, at(3, 10), "reader")
    view = app.replace_meter(sub, 1600, "M2", 0, at(3, 15))
    assert (view["meter_no"], view["last_reading_kwh"]) == ("M2", 0)
    first_new = app.submit_reading(sub, 50, at(3, 1), "reader")  # the new meter keeps its own order
    assert (first_new["meter_no"], first_new["consumption_kwh"]) == ("M2", 50)
    with refused(ReadingWentBackwards, "Meter M2 reads 49 kWh"):
        app.submit_reading(sub, 49, at(4, 1), "reader")
    bill = app.issue_bill(sub, "2026-C2")
    assert (bill["kwh"], bill["meter_no"], bill["opening_kwh"], bill["closing_kwh"]) == (250, "M2", 0, 50)
    assert sum(b["kwh"] for b in app.bills(sub)) == (1600 - 1000) + 50


def test_a_meter_replaced_with_no_new_reading_still_bills_the_old_meters_rest(app, sub):
    app.submit_reading(sub, 1400, at(2, 20), "reader")
    app.issue_bill(sub, "2026-C1")
    app.replace_meter(sub, 1450, "M2", 10, at(3, 15))
    assert app.issue_bill(sub, "2026-C2")["kwh"] == 50


def test_a_meter_replaced_after_an_overestimate_credits_the_difference_against_the_new_meter(app, sub, refused):
    app.submit_reading(sub, 1500, at(2, 20), "estimated")
    app.issue_bill(sub, "2026-C1")  # 500 kWh billed on an estimate
    app.replace_meter(sub, 1300, "M2", 0, at(3, 1))  # the old meter had really reached 1300
    app.submit_reading(sub, 100, at(3, 20), "reader")
    with refused(NothingToBill, "estimate"):
        app.issue_bill(sub, "2026-C2")
    app.submit_reading(sub, 350, at(7, 10), "reader")
    assert app.issue_bill(sub, "2026-C4")["kwh"] == 150
    assert sum(b["kwh"] for b in app.bills(sub)) == (1300 - 1000) + 350


def test_a_meter_replacement_below_the_old_meters_last_reading_is_refused(app, sub, refused):
    app.submit_reading(sub, 1400, at(2, 20), "reader")
    with refused(ReadingWentBackwards, "final reading 1399 kWh is below its last reading 1400"):
        app.replace_meter(sub, 1399, "M2", 0, at(3, 1))
    with refused(InvalidInput, "different meter number"):
        app.replace_meter(sub, 1400, "M1", 0, at(3, 1))
