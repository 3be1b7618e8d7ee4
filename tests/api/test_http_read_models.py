"""The balance list and the dashboards over HTTP: fresh after every write, paged, filtered, in strings."""

from __future__ import annotations

from datetime import timedelta

from http_world import is_problem


def test_a_registered_subscriber_is_listed_at_once_with_its_balance(any_api):
    any_api.billed("DI-1")
    any_api.pay("1000.00")
    body = any_api.get("/v1/subscribers?governorate=SY-DI").json
    assert body["next_cursor"] is None
    (item,) = body["items"]
    assert item["subscriber_no"] == "DI-1" and item["last_reading_kwh"] == 1400
    assert item["balance"] == {
        "billed": "3200.00",
        "paid": "1000.00",
        "cleared": "0.00",
        "adjusted": "0.00",
        "outstanding": "2200.00",
        "overdue": "0.00",
        "refunds_due": "0.00",
        "unit": "SYP",
    }


def test_the_balance_list_pages_by_cursor_without_gaps_or_repeats(api):
    for n in range(5):
        assert api.register(f"DI-{n}").status_code == 201
    seen, cursor = [], None
    while True:
        page = api.get("/v1/subscribers?limit=2" + (f"&cursor={cursor}" if cursor else "")).json
        seen += [item["subscriber_no"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"DI-{n}" for n in range(5)]


def test_filters_are_validated_and_only_staff_and_auditors_list(api):
    api.billed("DI-1")
    assert api.get("/v1/subscribers?min_outstanding=3200.00").json["items"][0]["subscriber_no"] == "DI-1"
    assert api.get("/v1/subscribers?min_outstanding=3200.01").json["items"] == []
    assert is_problem(api.get("/v1/subscribers?min_outstanding=1e9"), 422)
    assert is_problem(api.get("/v1/subscribers?governorate=SY-XX"), 422)
    assert is_problem(api.get("/v1/subscribers?limit=0"), 422)
    assert is_problem(api.get("/v1/subscribers?cursor=not-ours"), 422)
    assert is_problem(api.get("/v1/subscribers", role="portal"), 403)
    assert api.get("/v1/subscribers", role="auditor").status_code == 200


def test_the_collection_dashboard_counts_billed_paid_and_shares_by_channel(any_api):
    any_api.billed("DI-1")
    any_api.pay("1000.00")
    body = any_api.get("/v1/dashboards/collection?cycle=2026-C5&governorate=SY-DI").json
    assert body["unit"] == "SYP" and body["cycle"] == "2026-C5"
    assert (body["billed"], body["paid"], body["outstanding"]) == ("3200.00", "1000.00", "2200.00")
    assert body["collection_efficiency"] == "0.3125"
    assert any_api.get("/v1/dashboards/collection").json["cycle"] == "2026-C5"
    assert is_problem(any_api.get("/v1/dashboards/collection?cycle=2026-C9"), 422)


def test_the_arrears_dashboard_ages_an_unpaid_bill_into_its_bucket(api):
    api.billed("DI-1")
    api.pay("1000.00")
    body = api.get("/v1/dashboards/arrears?governorate=SY-DI").json
    assert (body["unit"], body["overdue"], body["not_yet_due"]) == ("SYP", "0.00", "2200.00")
    api.ledger.clock.now += timedelta(days=30 + 45)  # due 30 days after issue, now 45 days past due
    body = api.get("/v1/dashboards/arrears?governorate=SY-DI").json
    buckets = {b["bucket"]: b for b in body["buckets"]}
    assert list(buckets) == ["0-30", "31-60", "61-90", "90+"]
    assert (buckets["31-60"]["outstanding"], buckets["31-60"]["bills"]) == ("2200.00", 1)
    assert body["overdue"] == "2200.00" and buckets["0-30"]["outstanding"] == "0.00"
