"""The dashboard's headline figures and charts, drawn from its sections in one language.

`headlines(board)` gives the figures at the top of the page with the filters of the list behind each; `draw(board,
lang, link)` the SVG charts (see `api.dashboard.charts`), each mark linked to its list. Money is new pounds (SYP).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from api.dashboard import charts, i18n
from api.dashboard.sections import Dashboard
from api.dashboard.tables import Table
from ledger.money import ZERO

Link = Callable[..., str]


def headlines(d: Dashboard) -> list[dict[str, Any]]:
    """The figures at the top of the page: name, value, kind and the filters of the list behind each."""
    f, c = d.filters, d.collection
    bills = {"figure": "billed", "cycle": f.cycle, "governorate": f.governorate}
    settlements = d.tables["settlements"].total or {}
    return [
        {"name": "efficiency", "value": c["collection_efficiency"], "kind": "ratio", "link": None},
        {"name": "billed", "value": c["billed"], "kind": "money", "link": bills},
        {"name": "paid", "value": c["paid"], "kind": "money", "link": {**bills, "figure": "paid"}},
        {"name": "cleared", "value": c["cleared"], "kind": "money", "link": {**bills, "figure": "cleared"}},
        {"name": "outstanding", "value": c["outstanding"], "kind": "money", "link": {**bills, "figure": "outstanding"}},
        {
            "name": "overdue",
            "value": d.arrears["overdue"],
            "kind": "money",
            "link": {"figure": "arrears", "governorate": f.governorate},
        },
        {
            "name": "break_amount",
            "value": settlements.get("break_amount", ZERO),
            "kind": "money",
            "link": {"figure": "unsettled", "bank": f.bank},
        },
    ]


def _bars(
    table: Table, key: str, label: Callable[[Any], str], value: str, text: Callable[[Any], str], link: Link, figure: str
) -> list[charts.Bar]:
    return [
        charts.Bar(label(row[key]), row[value] or Decimal(0), text(row[value]), link(figure=figure, **table.scope(row)))
        for row in table.rows
    ]


def draw(d: Dashboard, lang: str, link: Link) -> dict[str, Markup]:
    """Every chart of the page in `lang`; `link(**params)` gives the URL of the list behind a mark."""
    rtl, tb = lang == "ar", d.tables

    def T(key: str) -> str:  # noqa: N802
        return i18n.word(key, lang)

    def pct(value: Decimal | None) -> str:
        return i18n.percent(value, lang)

    def short(value: Decimal) -> str:
        return i18n.compact(value, lang)

    gov_rows = tb["collection"].rows
    out = {
        "efficiency": charts.hbars(
            _bars(
                tb["collection"],
                "governorate",
                lambda c: i18n.governorate(c, lang),
                "collection_efficiency",
                pct,
                link,
                "paid",
            ),
            T("efficiency"),
            rtl,
            scale=Decimal(1),
        ),
        "collection": charts.columns(
            [i18n.governorate(r["governorate"], lang) for r in gov_rows],
            [_series(T(k), gov_rows, k, lang, tb["collection"], link) for k in ("billed", "paid", "cleared")],
            T("sec_collection"),
            rtl,
            short,
            width=max(600, 70 * len(gov_rows)),
        ),
    }
    trend = tb["trend"].rows
    names = [i18n.cycle_short(r["cycle"], lang) for r in trend]
    out["trend"] = charts.columns(
        names,
        [_series(T(k), trend, k, lang, tb["trend"], link) for k in ("billed", "paid", "cleared")],
        T("sec_trend"),
        rtl,
        short,
    )
    out["trend_efficiency"] = charts.lines(
        names,
        [
            charts.Series(
                T("efficiency"),
                [r["collection_efficiency"] for r in trend],
                [pct(r["collection_efficiency"]) for r in trend],
            )
        ],
        T("efficiency"),
        rtl,
        pct,
        full=Decimal(1),
    )
    for name, key in (("channels", "channel"), ("banks", "bank")):
        namer = _namer(key, lang)
        out[name] = charts.hbars(
            _bars(tb[name], key, namer, "amount_share", pct, link, "payments"), T(f"sec_{name}"), rtl, scale=Decimal(1)
        )
    out["arrears"] = charts.hbars(
        _bars(
            tb["arrears"],
            "bucket",
            lambda b: i18n.bucket(b, lang),
            "outstanding",
            lambda v: i18n.money(v, lang),
            link,
            "arrears",
        ),
        T("sec_arrears"),
        rtl,
    )
    out["settlements"] = charts.hbars(
        _bars(
            tb["settlements"],
            "bank",
            lambda b: i18n.bank(b, lang),
            "break_amount",
            lambda v: i18n.money(v, lang),
            link,
            "unsettled",
        ),
        T("break_amount"),
        rtl,
    )
    out["rollout"] = charts.tile_map(
        [
            charts.Tile(
                r["code"],
                i18n.governorate(r["code"], lang),
                r["e_payment"] == "live",
                i18n.status(r["e_payment"], lang),
                link(figure="subscribers", governorate=r["code"]),
            )
            for r in tb["rollout"].rows
        ],
        T("sec_rollout"),
    )
    return out


def _namer(kind: str, lang: str) -> Callable[[Any], str]:
    names = {"channel": i18n.channel, "bank": i18n.bank}[kind]
    return lambda code: names(code, lang)


def _series(name: str, rows: list[dict[str, Any]], key: str, lang: str, table: Table, link: Link) -> charts.Series:
    return charts.Series(
        name,
        [r[key] for r in rows],
        [i18n.money(r[key], lang) for r in rows],
        [link(figure=key, **table.scope(r)) for r in rows],
    )
