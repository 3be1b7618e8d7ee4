"""A subscriber's registration and e-payment enrolment, through the application on a SQLite file."""

from __future__ import annotations

from decimal import Decimal

from ledger.errors import (
    InvalidInput,
    SubscriberExists,
    UnknownGovernorate,
    UnknownSubscriber,
    UnmaskedAccountReference,
)
from ledger.subscriber import Subscriber, subscriber_id

ZERO = Decimal("0.00")


def test_a_registered_subscriber_shows_its_profile_and_an_empty_balance(app, register):
    view = register("DI-7", "SY-DI", "commercial", "M-77", 250)
    assert view == app.subscriber("DI-7")
    assert (view["subscriber_no"], view["governorate"], view["category"], view["meter_no"]) == (
        "DI-7",
        "SY-DI",
        "commercial",
        "M-77",
    )
    assert view["last_reading_kwh"] == 250 and view["name"] == "Subscriber DI-7" and view["enrolments"] == []
    balance = view["balance"]
    assert balance["unit"] == "SYP"
    assert all(balance[k] == ZERO for k in ("billed", "paid", "cleared", "adjusted", "outstanding", "overdue"))


def test_the_aggregate_id_is_derived_from_the_subscriber_number(app, register, events_of):
    register("DI-1")
    assert subscriber_id("DI-1") == subscriber_id("DI-1") != subscriber_id("DI-2")
    [registered] = events_of("DI-1")
    assert isinstance(registered, Subscriber.Registered) and registered.originator_id == subscriber_id("DI-1")
    assert registered.initial_reading_kwh == 1000 and registered.recorded_by


def test_registering_the_same_subscriber_number_twice_is_refused(app, register, refused):
    register("DI-1", meter="M1")
    with refused(SubscriberExists, "DI-1 is already registered"):
        register("DI-1", governorate="SY-HL", meter="M2")
    assert app.subscriber("DI-1")["governorate"] == "SY-DI"


def test_a_subscriber_in_an_unknown_governorate_is_refused(register, refused):
    with refused(UnknownGovernorate, "SY-XX"):
        register("XX-1", governorate="SY-XX")


def test_an_unknown_tariff_category_is_refused(register, refused):
    with refused(InvalidInput, "'domestic' is not one of"):
        register("DI-1", category="domestic")


def test_a_negative_or_fractional_initial_reading_is_refused(register, refused):
    with refused(InvalidInput, "initial_reading_kwh must be a whole number"):
        register("DI-1", initial=-1)
    with refused(InvalidInput, "initial_reading_kwh must be a whole number"):
        register("DI-1", initial=10.5)


def test_a_subscriber_that_was_never_registered_is_unknown(app, refused):
    with refused(UnknownSubscriber, "There is no subscriber DI-404"):
        app.subscriber("DI-404")
    with refused(UnknownSubscriber, "There is no subscriber DI-404"):
        app.enrol("DI-404", "CBS", "****4321")


def test_enrolment_with_a_masked_account_reference_is_recorded(app, register, events_of):
    register("DI-1")
    assert app.enrol("DI-1", "CBS", "****4321") == {"subscriber_no": "DI-1", "bank": "CBS", "account_ref": "****4321"}
    [enrolment] = app.subscriber("DI-1")["enrolments"]
    assert (enrolment["bank"], enrolment["account_ref"]) == ("CBS", "****4321")
    assert type(events_of("DI-1")[-1]).__name__ == "EnrolledForEPayment"


def test_a_full_account_number_is_never_stored(app, register, refused):
    register("DI-1")
    for unmasked in ("123456789012", "1234****", "****12345", "", "**4321"):
        with refused(UnmaskedAccountReference, "must be masked, like ****4321"):
            app.enrol("DI-1", "CBS", unmasked)
    assert app.subscriber("DI-1")["enrolments"] == []


def test_enrolment_with_a_bank_that_is_not_listed_is_refused(app, register, refused):
    register("DI-1")
    with refused(InvalidInput, "Bank 'XYZ' is not one of CBS, REB, HUB"):
        app.enrol("DI-1", "XYZ", "****4321")


def test_enrolling_again_with_the_same_reference_adds_no_event(app, register):
    register("DI-1")
    app.enrol("DI-1", "CBS", "****4321")
    before = app.recorder.max_notification_id()
    assert app.enrol("DI-1", "CBS", "****4321")["account_ref"] == "****4321"
    assert app.recorder.max_notification_id() == before


def test_a_subscriber_may_enrol_with_several_banks_and_change_the_account(app, register):
    register("DI-1")
    app.enrol("DI-1", "CBS", "****4321")
    app.enrol("DI-1", "HUB", "****9")
    app.enrol("DI-1", "CBS", "****8765")
    enrolments = {e["bank"]: e["account_ref"] for e in app.subscriber("DI-1")["enrolments"]}
    assert enrolments == {"CBS": "****8765", "HUB": "****9"}
