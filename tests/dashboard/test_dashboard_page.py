"""The dashboard page through the Flask test client: who may sign in, what it shows, in which language, and that
every figure, list and CSV agrees with the projection queries (and the JSON API) to the piastre."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from dashboard_world import ENV, TOKENS, build_app, csrf_of, sign_in

from api import dashboard
from api.dashboard import i18n
from api.dashboard import lists as dashboard_lists
from ledger.actors import acting_as
from projections.clearing import clearing_positions
from projections.dashboards import arrears, collection_dashboard
from projections.queries import governorate_status

CYCLE = "2026-C5"
TABLES = (
    "collection",
    "trend",
    "channels",
    "banks",
    "arrears",
    "arrears_by_governorate",
    "settlements",
    "breaks",
    "rollout",
)
# Cells whose list's total must equal the cell: money by the list's amount, counts by its number of rows.
SAME_MONEY = {
    "billed",
    "adjusted",
    "paid",
    "cleared",
    "outstanding",
    "amount",
    "owed",
    "overdue",
    "not_yet_due",
    "0-30",
    "31-60",
    "61-90",
    "90+",
}
SAME_COUNT = {"bills", "payments"}


class Figures(HTMLParser):
    """Every element of a page that carries a `data-value`: its table, part, row, key, value, link and text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.cells: list[dict[str, Any]] = []
        self.table: str | None = None
        self.part: str | None = None
        self.row = 0
        self.open: dict[str, Any] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and (a.get("id") or "").startswith("table-"):
            self.table = (a["id"] or "")[len("table-") :]
        elif tag in ("thead", "tbody", "tfoot"):
            self.part = tag
        elif tag == "tr":
            self.row += 1
        elif "data-value" in a:
            self.open = {
                "table": self.table,
                "part": self.part,
                "row": self.row,
                "id": a.get("id"),
                "key": a.get("data-key"),
                "value": a["data-value"],
                "href": a.get("href"),
                "text": "",
            }

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.table = None
        if self.open is not None and tag in ("a", "span"):
            self.cells.append(self.open)
            self.open = None

    def handle_data(self, text: str) -> None:
        if self.open is not None:
            self.open["text"] += text

    def by_id(self, element_id: str) -> dict[str, Any]:
        return next(c for c in self.cells if c["id"] == element_id)

    def rows(self, table: str, part: str = "tbody") -> list[dict[str, dict[str, Any]]]:
        grouped: dict[int, dict[str, dict[str, Any]]] = {}
        for c in self.cells:
            if c["table"] == table and c["part"] == part:
                grouped.setdefault(c["row"], {})[c["key"]] = c
        return list(grouped.values())


def page(client: Any, path: str) -> Figures:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return Figures(response.get_data(as_text=True))


def engine_of(app: Any) -> Any:
    side = app.extensions["read_side"]
    side.ensure_fresh()
    return side.engine


def today_of(ledger: Any) -> Any:
    return ledger.today()


def shown_money(cell: dict[str, Any]) -> Decimal:
    """What a reader sees, back to a Decimal (either language's digits)."""
    return Decimal(i18n.western(cell["text"]).split(" ")[0].replace(",", ""))


# -- who may look ----------------------------------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_sign_in_form(board):
    app, _ = board
    response = app.test_client().get("/dashboard?governorate=SY-DI")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/dashboard/login"
    assert parse_qs(target.query)["next"] == ["/dashboard?governorate=SY-DI"]


@pytest.mark.parametrize("role", ["staff", "auditor"])
def test_a_staff_or_auditor_token_signs_in_and_the_cookie_opens_the_page(board, role):
    app, _ = board
    client = app.test_client()
    response = sign_in(client, role)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and "ledger_dashboard=" in v)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dashboard" in cookie
    assert TOKENS[role] not in cookie
    assert client.get("/dashboard").status_code == 200


@pytest.mark.parametrize("role", ["portal", "bank:CBS"])
def test_portal_and_bank_tokens_are_refused_at_the_form_and_by_bearer(board, role):
    app, _ = board
    client = app.test_client()
    response = sign_in(client, role)
    assert response.status_code == 403
    assert i18n.word("wrong_role", "en") in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302
    bearer = client.get("/dashboard", headers={"Authorization": f"Bearer {TOKENS[role]}"})
    assert bearer.status_code == 403 and bearer.mimetype == "application/problem+json"


def test_a_wrong_token_is_refused_and_a_form_without_its_csrf_token_too(board):
    app, _ = board
    client = app.test_client()
    client.get("/dashboard/login")
    assert client.post("/dashboard/login", data={"token": TOKENS["staff"], "csrf": "forged"}).status_code == 400
    assert client.post("/dashboard/login", data={"token": "guess", "csrf": csrf_of(client)}).status_code == 401
    assert client.get("/dashboard").status_code == 302
    assert client.get("/dashboard", headers={"Authorization": "Bearer guess"}).status_code == 401


def test_a_staff_bearer_token_reads_the_page_and_csv_without_a_session(board):
    app, _ = board
    client = app.test_client()
    headers = {"Authorization": f"Bearer {TOKENS['staff']}"}
    assert client.get("/dashboard", headers=headers).status_code == 200
    assert client.get("/dashboard/collection.csv", headers=headers).status_code == 200


def test_signing_out_ends_the_session(browser):
    html = browser.get("/dashboard").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    response = browser.post("/dashboard/logout", data={"csrf": csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/login"
    assert browser.get("/dashboard").status_code == 302


def test_removing_a_token_from_the_configuration_ends_its_sessions(board, browser):
    _, ledger = board
    cookie = browser.get_cookie("ledger_dashboard", path="/dashboard")
    client = build_app(ledger, {**ENV, "LEDGER_TOKENS": f"{TOKENS['auditor']}=auditor"}).test_client()
    client.set_cookie("ledger_dashboard", cookie.value, path="/dashboard")
    assert client.get("/dashboard").status_code == 302


def test_after_signing_in_the_browser_goes_only_to_a_dashboard_page(board):
    app, _ = board
    for target, expected in (
        ("https://evil.example/dashboard", "/dashboard"),
        ("//evil.example", "/dashboard"),
        ("/docs", "/dashboard"),
        ("/dashboard?governorate=SY-HL", "/dashboard?governorate=SY-HL"),
    ):
        client = app.test_client()
        body = {"token": TOKENS["staff"], "csrf": csrf_of(client), "next": target}
        assert client.post("/dashboard/login", data=body).headers["Location"] == expected


def test_dashboard_pages_carry_their_own_policy_and_no_script_or_inline_style(browser):
    response = browser.get("/dashboard")
    assert response.headers["Content-Security-Policy"] == dashboard.CSP
    assert "'unsafe-inline'" not in dashboard.CSP and "script-src 'none'" in dashboard.CSP
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "<script" not in html and " style=" not in html
    assert browser.get("/dashboard/static/dashboard.css").status_code == 200
    assert "style-src" not in browser.get("/healthz").headers["Content-Security-Policy"]


# -- what it shows ---------------------------------------------------------------------------------------------------


def test_the_figures_match_the_collection_dashboard_and_the_json_api(board, browser):
    app, ledger = board
    figures = page(browser, f"/dashboard?cycle={CYCLE}")
    expected = collection_dashboard(engine_of(app), CYCLE)
    api = browser.get(
        f"/v1/dashboards/collection?cycle={CYCLE}", headers={"Authorization": f"Bearer {TOKENS['staff']}"}
    ).json
    for name in ("billed", "paid", "cleared", "outstanding"):
        kpi = figures.by_id(f"kpi-{name}")
        assert kpi["value"] == str(expected[name]) == api[name]
        assert shown_money(kpi) == expected[name]
    assert figures.by_id("kpi-efficiency")["value"] == str(expected["collection_efficiency"])
    rows = {r["governorate"]["value"]: r for r in figures.rows("collection")}
    assert set(rows) == {g["governorate"] for g in expected["by_governorate"]}
    for part in expected["by_governorate"]:
        row = rows[part["governorate"]]
        for key in ("bills", "billed", "adjusted", "paid", "cleared", "outstanding", "collection_efficiency"):
            assert row[key]["value"] == str(part[key])
        assert shown_money(row["billed"]) == part["billed"]
    (total,) = figures.rows("collection", "tfoot")
    assert total["billed"]["value"] == str(expected["billed"]) and total["bills"]["value"] == str(expected["bills"])


def test_the_trend_shows_each_cycles_totals(board, browser):
    app, _ = board
    figures = page(browser, "/dashboard?governorate=SY-RD")
    rows = figures.rows("trend")
    assert [r["cycle"]["value"] for r in rows] == ["2026-C3", "2026-C4", "2026-C5"]
    for row in rows:
        expected = collection_dashboard(engine_of(app), row["cycle"]["value"], "SY-RD")
        for key in ("bills", "billed", "paid", "cleared", "outstanding", "collection_efficiency"):
            assert row[key]["value"] == str(expected[key])


def test_a_governorate_filter_narrows_every_governorate_section(board, browser):
    app, ledger = board
    figures = page(browser, "/dashboard?cycle=2026-C4&governorate=SY-HL")
    expected = collection_dashboard(engine_of(app), "2026-C4", "SY-HL")
    assert figures.by_id("kpi-billed")["value"] == str(expected["billed"])
    assert [r["governorate"]["value"] for r in figures.rows("collection")] == ["SY-HL"]
    owing = arrears(engine_of(app), "SY-HL", today_of(ledger))
    assert figures.by_id("kpi-overdue")["value"] == str(owing["overdue"])
    buckets = {r["bucket"]["value"]: r for r in figures.rows("arrears")}
    for bucket in owing["buckets"]:
        assert buckets[bucket["bucket"]]["outstanding"]["value"] == str(bucket["outstanding"])
    shares = {r["channel"]["value"]: r for r in figures.rows("channels")}
    assert {k: v["amount"]["value"] for k, v in shares.items()} == {
        c["channel"]: str(c["amount"]) for c in expected["channels"]
    }


def test_a_bank_filter_narrows_e_payments_and_clearing(board, browser):
    app, ledger = board
    figures = page(browser, f"/dashboard?cycle={CYCLE}&bank=REB")
    everyone = collection_dashboard(engine_of(app), CYCLE)
    reb = next(b for b in everyone["banks"] if b["bank"] == "REB")
    assert [r["bank"]["value"] for r in figures.rows("banks")] == ["REB"]
    (total,) = figures.rows("channels", "tfoot")
    assert total["amount"]["value"] == str(reb["amount"]) and total["payments"]["value"] == str(reb["payments"])
    assert [r["bank"]["value"] for r in figures.rows("settlements")] == ["REB"]
    assert {r["bank"]["value"] for r in figures.rows("breaks")} <= {"REB"}
    assert figures.by_id("kpi-billed")["value"] == str(everyone["billed"])  # bills are not per bank


def test_e_payment_shares_clearing_and_rollout_match_their_queries(board, browser):
    app, ledger = board
    figures = page(browser, f"/dashboard?cycle={CYCLE}")
    engine, today = engine_of(app), today_of(ledger)
    expected = collection_dashboard(engine, CYCLE)
    for name, key in (("channels", "channel"), ("banks", "bank")):
        shown = {r[key]["value"]: r for r in figures.rows(name)}
        for share in expected[name]:
            row = shown[share[key]]
            for field in ("payments", "amount", "count_share", "amount_share"):
                assert row[field]["value"] == str(share[field]), (name, key, field)
    clearing = clearing_positions(engine, None, today)
    shown_banks = {r["bank"]["value"]: r for r in figures.rows("settlements")}
    for code, summary in clearing["banks"].items():
        for field in ("owed", "settled", "difference", "breaks", "break_amount", "refunds_due"):
            assert shown_banks[code][field]["value"] == str(summary[field])
    breaks = [i for i in clearing["items"] if i["status"] == "break"]
    assert len(figures.rows("breaks")) == len(breaks) > 0
    status = {g["code"]: g for g in governorate_status(engine, today)["items"]}
    for row in figures.rows("rollout"):
        assert row["subscribers"]["value"] == str(status[row["code"]["value"]]["subscribers"])
    assert len(figures.rows("rollout")) == 14


def test_arabic_is_right_to_left_with_arabic_names_and_digits_and_is_remembered(board, browser):
    app, _ = board
    response = browser.get(f"/dashboard?lang=ar&cycle={CYCLE}&governorate=SY-DI")
    html = response.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "دمشق" in html and "ل.س" in html and "الدورة ٥ من ٢٠٢٦" in html
    figures = Figures(html)
    billed = figures.by_id("kpi-billed")
    assert re.fullmatch(r"[٠-٩٬٫]+", billed["text"].strip()), billed["text"]
    assert shown_money(billed) == collection_dashboard(engine_of(app), CYCLE, "SY-DI")["billed"]
    assert re.fullmatch(r"[٠-٩٫]+٪", figures.by_id("kpi-efficiency")["text"].strip())
    switch = re.search(r'id="switch-language" class="switch" href="([^"]+)"', html).group(1)
    assert parse_qs(urlsplit(switch.replace("&amp;", "&")).query) == {
        "lang": ["en"],
        "cycle": [CYCLE],
        "governorate": ["SY-DI"],
    }
    assert '<html lang="ar" dir="rtl">' in browser.get("/dashboard").get_data(as_text=True)
    english = browser.get("/dashboard?lang=en").get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in english and "Damascus" in english and "SYP" in english


def test_english_numbers_have_thousands_separators_and_the_unit_is_stated(browser):
    html = browser.get(f"/dashboard?lang=en&cycle={CYCLE}").get_data(as_text=True)
    figures = Figures(html)
    assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d\d", figures.by_id("kpi-billed")["text"].strip())
    assert "Billed (SYP)" in html and "Amounts in new Syrian pounds (SYP)." in html


def test_an_unknown_filter_is_a_400_page_naming_it(browser):
    response = browser.get("/dashboard?governorate=SY-XX")
    assert response.status_code == 400 and "SY-XX" in response.get_data(as_text=True)
    assert browser.get("/dashboard?cycle=2026-C9").status_code == 400
    assert browser.get("/dashboard/nothing.csv").status_code == 400
    assert browser.get("/dashboard/subscribers?figure=paid").status_code == 400  # a cycle figure needs a cycle


# -- lists and downloads ---------------------------------------------------------------------------------------------


def test_every_figure_link_leads_to_a_list_whose_total_is_that_figure(browser):
    figures = page(browser, f"/dashboard?cycle={CYCLE}")
    one_of_each = {}
    for cell in figures.cells:
        if cell["href"]:
            one_of_each.setdefault(parse_qs(urlsplit(cell["href"].replace("&amp;", "&")).query)["figure"][0], cell)
    assert set(one_of_each) == set(dashboard_lists.FIGURES)
    for cell in one_of_each.values():
        assert page(browser, cell["href"].replace("&amp;", "&")).by_id("list-total")
    checked = 0
    for cell in figures.cells:
        key = cell["key"] or (cell["id"] or "").removeprefix("kpi-")
        if not cell["href"] or key not in SAME_MONEY | SAME_COUNT:
            continue
        listing = page(browser, cell["href"].replace("&amp;", "&"))
        if key in SAME_MONEY:
            assert listing.by_id("list-total")["value"] == cell["value"], cell
        else:
            assert listing.by_id("list-rows")["value"] == cell["value"], cell
        checked += 1
    assert checked > 100


def test_a_long_list_pages_through_every_row_once(browser, monkeypatch):
    monkeypatch.setattr(dashboard_lists, "PAGE", 7)
    path, seen = f"/dashboard/subscribers?figure=billed&cycle={CYCLE}", []
    while path:
        html = browser.get(path).get_data(as_text=True)
        seen += [r["amount"]["value"] for r in Figures(html).rows("subscribers")]
        found = re.search(r'href="([^"]+)" id="next-page"', html)
        path = found.group(1).replace("&amp;", "&") if found else None
    total = Figures(browser.get(f"/dashboard/subscribers?figure=billed&cycle={CYCLE}").get_data(as_text=True))
    assert len(seen) == int(total.by_id("list-rows")["value"]) == 80
    assert sum(Decimal(v) for v in seen) == Decimal(total.by_id("list-total")["value"])


def read_csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.mark.parametrize("name", TABLES)
def test_every_table_downloads_as_csv_with_the_pages_figures(browser, name):
    figures = page(browser, f"/dashboard?cycle={CYCLE}&lang=ar")
    assert f'id="csv-{name}"' in browser.get(f"/dashboard?cycle={CYCLE}").get_data(as_text=True)
    rows = read_csv(browser.get(f"/dashboard/{name}.csv?cycle={CYCLE}&lang=ar"))
    shown = figures.rows(name)
    assert len(rows) == len(shown)
    for line, cells in zip(rows, shown, strict=True):
        for key, cell in cells.items():
            assert line[key] == cell["value"], (name, key)
        if "unit" in line:
            assert line["unit"] == "SYP"


def test_the_list_behind_a_figure_downloads_whole_as_csv(board, browser):
    _, ledger = board
    with acting_as("test:dashboard", "test"):
        ledger.register_subscriber("DI-X1", "SY-DI", "residential", "MX1", 100, '=HYPERLINK("http://x","y")')
    rows = read_csv(browser.get("/dashboard/subscribers.csv?figure=subscribers&governorate=SY-DI"))
    assert any(r["subscriber_no"] == "DI-X1" and r["name"].startswith("'=HYPERLINK") for r in rows)
    bills = read_csv(browser.get(f"/dashboard/subscribers.csv?figure=billed&cycle={CYCLE}"))
    assert len(bills) == 80 and {r["unit"] for r in bills} == {"SYP"}


def test_the_read_side_is_built_on_first_use_when_the_app_has_none(board):
    app, ledger = board
    fresh = build_app(ledger)
    fresh.extensions.pop("read_side", None)
    client = fresh.test_client()
    sign_in(client)
    assert client.get("/dashboard").status_code == 200
    assert "read_side" in fresh.extensions
