"""The read-model queries on a small hand-built ledger whose every figure is worked out by hand below.

Five subscribers in three governorates. HL-1's 2025-C6 bill was issued in old pounds (320,000 SYP_OLD = 3,200.00
SYP) and credited 200.00; the 2026-C1 bills are 3,200.00 (DI-1, 400 kWh), 1,400.00 (DI-2, commercial, 100 kWh),
600.00 (HL-2, 100 kWh) and 1,200.00 (DR-1, 200 kWh). Payments: T1 1000.00 web and T3 600.00 hub (CBS, cleared
24 h and 28 h after payment), T2 500.00 app (CBS, reversed before clearing), R1 1400.00 branch (REB, cleared after
26 h, then reversed: a refund is due), T4 1000.00 web (CBS, on HL-1's old bill, not cleared).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ledger import LedgerApplication
from ledger.errors import InvalidInput, UnknownGovernorate
from projections import queries
from projections.runner import ProjectionRunner
from tests.conftest import FixedClock, create_pg_database

D = Decimal
MAR_3, APR_10, MAY_1 = date(2026, 3, 3), date(2026, 4, 10), date(2026, 5, 1)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def register(app, no, governorate, category, initial, bank, reading, read_at):
    app.register_subscriber(no, governorate, category, f"M-{no}", initial, f"Subscriber {no}")
    app.enrol(no, bank, "****1234")
    app.submit_reading(no, reading, read_at, "reader")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path_factory):
    """The hand-built ledger, projected once per module and backend."""
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('queries')}/ledger.db", None
    else:
        url, drop = create_pg_database()
    clock = FixedClock()
    app = LedgerApplication(env={"LEDGER_DATABASE_URL": url}, clock=clock)
    try:
        yield build(app, clock)
    finally:
        app.close()
        if drop:
            drop()


def build(app, clock):
    clock.now = at(2025, 12, 20, 9)
    register(app, "HL-1", "SY-HL", "residential", 1000, "CBS", 1400, at(2025, 12, 19))
    app.issue_bill("HL-1", "2025-C6")
    clock.now = at(2026, 2, 25, 9)
    register(app, "DI-1", "SY-DI", "residential", 1000, "CBS", 1400, at(2026, 2, 20))
    register(app, "DI-2", "SY-DI", "commercial", 500, "REB", 600, at(2026, 2, 20))
    register(app, "HL-2", "SY-HL", "residential", 0, "CBS", 100, at(2026, 2, 20))
    register(app, "DR-1", "SY-DR", "residential", 0, "CBS", 200, at(2026, 2, 20))
    for no in ("DI-1", "DI-2", "HL-2", "DR-1"):
        app.issue_bill(no, "2026-C1")
    app.adjust_bill("HL-1", "HL-1-2025-C6", D("-200.00"), "credit note")
    clock.now = at(2026, 3, 1, 12)
    for bank, ref, no, bill, amount, channel, hour in [
        ("CBS", "T1", "DI-1", "DI-1-2026-C1", "1000.00", "web", 10),
        ("CBS", "T2", "DI-1", "DI-1-2026-C1", "500.00", "app", 11),
        ("REB", "R1", "DI-2", "DI-2-2026-C1", "1400.00", "branch", 8),
        ("CBS", "T3", "HL-2", "HL-2-2026-C1", "600.00", "hub", 6),
        ("CBS", "T4", "HL-1", "HL-1-2025-C6", "1000.00", "web", 9),
    ]:
        app.receive_payment(bank, ref, no, bill, amount, channel, at(2026, 3, 1, hour))
    clock.now = at(2026, 3, 2, 10)
    app.settle("CBS", "S1", date(2026, 3, 1), ["T1", "T3"], "1600.00")
    app.settle("REB", "S2", date(2026, 3, 1), ["R1"], "1400.00")
    clock.now = at(2026, 3, 3, 10)
    app.reverse_payment("REB", "R1", "chargeback")
    app.reverse_payment("CBS", "T2", "duplicate")
    runner = ProjectionRunner(app, batch_size=7)
    with runner.locked():
        runner.catch_up()
    runner.close()
    return app.recorder.datastore.engine


def balance(engine, no, today=MAR_3):
    return queries.subscriber_balance(engine, no, today)["balance"]


def test_balances_match_the_hand_worked_figures(engine):
    assert balance(engine, "DI-1") == {
        "billed": D("3200.00"),
        "paid": D("1000.00"),
        "cleared": D("1000.00"),
        "adjusted": D("0.00"),
        "outstanding": D("2200.00"),
        "overdue": D("0.00"),
        "refunds_due": D("0.00"),
        "unit": "SYP",
    }
    assert balance(engine, "DI-2")["outstanding"] == D("1400.00")
    assert balance(engine, "DI-2")["refunds_due"] == D("1400.00")
    assert balance(engine, "HL-1") == {
        "billed": D("3200.00"),
        "paid": D("1000.00"),
        "cleared": D("0.00"),
        "adjusted": D("-200.00"),
        "outstanding": D("2000.00"),
        "overdue": D("2000.00"),
        "refunds_due": D("0.00"),
        "unit": "SYP",
    }
    assert balance(engine, "HL-2")["outstanding"] == D("0.00")
    assert balance(engine, "DI-1", APR_10)["overdue"] == D("2200.00")


def test_a_subscriber_answer_has_the_design_shape(engine):
    item = queries.subscriber_balance(engine, "DI-1", MAR_3)
    assert {k: item[k] for k in ("subscriber_no", "governorate", "category", "meter_no", "last_reading_kwh")} == {
        "subscriber_no": "DI-1",
        "governorate": "SY-DI",
        "category": "residential",
        "meter_no": "M-DI-1",
        "last_reading_kwh": 1400,
    }
    assert item["last_payment_at"] == at(2026, 3, 1, 10)
    assert queries.subscriber_balance(engine, "DI-2", MAR_3)["last_payment_at"] is None
    assert queries.subscriber_balance(engine, "NOPE", MAR_3) is None


def pages(engine, **filters):
    found, cursor = [], None
    while True:
        page = queries.list_balances(engine, limit=2, cursor=cursor, **filters)
        found.append([item["subscriber_no"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_keyset_pages_cover_every_subscriber_once_and_end_with_a_null_cursor(engine):
    assert pages(engine, today=APR_10) == [["DI-1", "DI-2"], ["DR-1", "HL-1"], ["HL-2"]]
    assert pages(engine, today=APR_10, overdue=True) == [["DI-1", "DI-2"], ["DR-1", "HL-1"]]
    assert pages(engine, today=APR_10, overdue=False) == [["HL-2"]]
    assert pages(engine, today=MAR_3, overdue=True) == [["HL-1"]]
    assert pages(engine, today=MAR_3, governorate="SY-HL") == [["HL-1", "HL-2"]]
    assert pages(engine, today=MAR_3, min_outstanding=D("2000.00")) == [["DI-1", "HL-1"]]
    assert pages(engine, today=MAR_3, governorate="SY-DY") == [[]]


def test_list_items_carry_the_overdue_amount_of_the_day_asked(engine):
    items = queries.list_balances(engine, governorate="SY-HL", today=MAR_3)["items"]
    assert [(i["subscriber_no"], i["balance"]["overdue"]) for i in items] == [
        ("HL-1", D("2000.00")),
        ("HL-2", D("0.00")),
    ]


def test_a_foreign_cursor_or_a_bad_limit_is_refused_clearly(engine):
    with pytest.raises(InvalidInput, match="cursor"):
        queries.list_balances(engine, cursor="not-ours", today=MAR_3)
    for limit in (0, 1001):
        with pytest.raises(InvalidInput, match="limit"):
            queries.list_balances(engine, limit=limit, today=MAR_3)
    with pytest.raises(UnknownGovernorate):
        queries.list_balances(engine, governorate="SY-XX", today=MAR_3)


def test_the_collection_dashboard_of_2026_c1(engine):
    got = queries.collection_dashboard(engine, "2026-C1")
    assert {
        k: got[k]
        for k in ("bills", "billed", "adjusted", "paid", "cleared", "outstanding", "collection_efficiency", "unit")
    } == {
        "bills": 4,
        "billed": D("6400.00"),
        "adjusted": D("0.00"),
        "paid": D("1600.00"),
        "cleared": D("1600.00"),
        "outstanding": D("4800.00"),
        "collection_efficiency": D("0.2500"),
        "unit": "SYP",
    }
    assert got["channels"] == [
        {
            "channel": "hub",
            "payments": 1,
            "amount": D("600.00"),
            "count_share": D("0.5000"),
            "amount_share": D("0.3750"),
        },
        {
            "channel": "web",
            "payments": 1,
            "amount": D("1000.00"),
            "count_share": D("0.5000"),
            "amount_share": D("0.6250"),
        },
    ]
    assert got["banks"] == [
        {"bank": "CBS", "payments": 2, "amount": D("1600.00"), "count_share": D("1.0000"), "amount_share": D("1.0000")}
    ]
    assert got["posting_delay_hours"] == {
        "payments": 3,
        "average": D("26.00"),
        "p50": D("26.00"),
        "p90": D("28.00"),
        "p99": D("28.00"),
        "max": D("28.00"),
    }
    per = {
        g["governorate"]: (g["bills"], g["billed"], g["paid"], g["collection_efficiency"])
        for g in got["by_governorate"]
    }
    assert per == {
        "SY-DI": (2, D("4600.00"), D("1000.00"), D("0.2174")),
        "SY-DR": (1, D("1200.00"), D("0.00"), D("0.0000")),
        "SY-HL": (1, D("600.00"), D("600.00"), D("1.0000")),
    }


def test_the_collection_dashboard_of_one_governorate_and_of_an_old_pound_cycle(engine):
    damascus = queries.collection_dashboard(engine, "2026-C1", "SY-DI")
    assert (damascus["bills"], damascus["billed"], damascus["outstanding"]) == (2, D("4600.00"), D("3600.00"))
    assert damascus["posting_delay_hours"]["average"] == D("25.00")
    assert damascus["posting_delay_hours"]["p50"] == D("24.00")
    old = queries.collection_dashboard(engine, "2025-C6")
    assert (old["billed"], old["adjusted"], old["paid"], old["outstanding"], old["collection_efficiency"]) == (
        D("3200.00"),
        D("-200.00"),
        D("1000.00"),
        D("2000.00"),
        D("0.3125"),
    )
    assert old["posting_delay_hours"] == {
        "payments": 0,
        "average": None,
        "p50": None,
        "p90": None,
        "p99": None,
        "max": None,
    }
    empty = queries.collection_dashboard(engine, "2027-C1")
    assert (empty["bills"], empty["billed"], empty["collection_efficiency"]) == (0, D("0.00"), None)


def buckets(answer):
    return {b["bucket"]: b["outstanding"] for b in answer["buckets"] if b["outstanding"]}


def test_arrears_by_days_past_due(engine):
    assert buckets(queries.arrears(engine, today=MAR_3)) == {"31-60": D("2000.00")}
    assert queries.arrears(engine, today=MAR_3)["not_yet_due"] == D("4800.00")
    assert buckets(queries.arrears(engine, today=APR_10)) == {"0-30": D("4800.00"), "61-90": D("2000.00")}
    assert buckets(queries.arrears(engine, today=MAY_1)) == {"31-60": D("4800.00"), "90+": D("2000.00")}
    assert buckets(queries.arrears(engine, "SY-HL", today=APR_10)) == {"61-90": D("2000.00")}
    answer = queries.arrears(engine, today=APR_10)
    assert answer["overdue"] == D("6800.00") and answer["unit"] == "SYP"
    assert [g["governorate"] for g in answer["by_governorate"]] == ["SY-DI", "SY-DR", "SY-HL"]


def test_governorate_status_follows_the_rollout_dates(engine):
    before = {g["code"]: g for g in queries.governorate_status(engine, MAR_3)["items"]}
    assert (before["SY-DI"]["e_payment"], before["SY-DR"]["e_payment"]) == ("live", "not_live")
    assert before["SY-DR"]["live_since"] == date(2026, 11, 1) and before["SY-DY"]["live_since"] is None
    assert (before["SY-DI"]["subscribers"], before["SY-HL"]["enrolled_subscribers"]) == (2, 2)
    assert before["SY-DR"]["name_ar"] == "درعا"
    after = {g["code"]: g for g in queries.governorate_status(engine, date(2026, 11, 2))["items"]}
    assert after["SY-DR"]["e_payment"] == "live"
