"""The dashboard's routes: the page, sign-in and sign-out, the lists behind figures, and CSV downloads.

Each view reads the filters from the query string, brings the read models up to date (`ReadSide.ensure_fresh`) and
renders. The language comes from `?lang=` (remembered in the session), else the browser's Accept-Language.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Iterable
from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, session, url_for
from markupsafe import Markup, escape
from sqlalchemy.engine import Engine

from api.dashboard import data, drawing, i18n, lists, login, sections
from api.dashboard.tables import Column, Table, csv_lines, display, header, raw

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
_read_side_lock = threading.Lock()
LIST_COLUMNS = {
    "bills": [
        Column("subscriber_no", "subscriber_no", "id"),
        Column("name", "name"),
        Column("governorate", "governorate", "governorate"),
        Column("bill_id", "bill", "id"),
        Column("amount", "billed", "money"),
        Column("adjusted", "adjusted", "money"),
        Column("paid", "paid", "money"),
        Column("cleared", "cleared", "money"),
        Column("outstanding", "outstanding", "money"),
        Column("due_date", "due_date", "day"),
    ],
    "payments": [
        Column("subscriber_no", "subscriber_no", "id"),
        Column("name", "name"),
        Column("governorate", "governorate", "governorate"),
        Column("bank", "bank", "bank"),
        Column("payment_ref", "payment_ref", "id"),
        Column("bill_id", "bill", "id"),
        Column("channel", "channel", "channel"),
        Column("amount", "amount", "money"),
        Column("status", "status", "status"),
        Column("paid_at", "paid_at", "day"),
    ],
    "subscribers": [
        Column("subscriber_no", "subscriber_no", "id"),
        Column("name", "name"),
        Column("governorate", "governorate", "governorate"),
        Column("category", "category"),
        Column("enrolled_banks", "bank"),
        Column("billed", "billed", "money"),
        Column("paid", "paid", "money"),
        Column("outstanding", "outstanding", "money"),
    ],
}


def read_engine() -> Engine:
    """The read models' engine, caught up with the event log; the read side is built on first use if need be."""
    extensions = current_app.extensions
    if "read_side" not in extensions:
        from projections.fresh import ReadSide

        with _read_side_lock:
            extensions.setdefault("read_side", ReadSide(extensions["ledger"]))
    side = extensions["read_side"]
    side.ensure_fresh()
    return side.engine


def today() -> date:
    return current_app.extensions["ledger"].today()  # type: ignore[no-any-return]


def language() -> str:
    asked = request.args.get("lang")
    if asked in i18n.LANGUAGES:
        session["lang"] = asked
        return asked
    kept = session.get("lang")
    if kept in i18n.LANGUAGES:
        return str(kept)
    return request.accept_languages.best_match(i18n.LANGUAGES) or "en"


def list_url(lang: str, **params: Any) -> str:
    return url_for("dashboard.subscribers", lang=lang, **{k: v for k, v in params.items() if v})


def _cell(lang: str, table: Table, column: Column, row: dict[str, Any]) -> Markup:
    value = row.get(column.key)
    text = escape(display(column, value, lang))
    attrs = f' data-key="{escape(column.key)}" data-value="{escape(raw(value))}"'
    if column.figure and value is not None:
        href = list_url(lang, figure=column.figure, **table.scope(row), **dict(column.params))
        return Markup(f'<a href="{escape(href)}"{attrs}>{text}</a>')
    return Markup(f"<span{attrs}>{text}</span>")


def _template_tools(lang: str, filters: data.Filters | None) -> dict[str, Any]:
    params = filters.params() if filters else {}
    other: dict[str, Any] = {
        **(request.view_args or {}),
        **request.args.to_dict(),
        "lang": "en" if lang == "ar" else "ar",
    }
    return {
        **i18n.toolkit(lang),
        "cell": lambda table, column, row: _cell(lang, table, column, row),
        "header": lambda column: header(column, lang),
        "list_url": lambda **p: list_url(lang, **p),
        "csv_url": lambda name, **extra: url_for("dashboard.csv", name=name, lang=lang, **params, **extra),
        "switch_url": url_for(request.endpoint or "dashboard.page", **other),
        "client": g.get("client"),
        "csrf": login.csrf_token(),
    }


@bp.errorhandler(data.BadFilter)
def bad_filter(error: data.BadFilter) -> tuple[str, int]:
    lang = language()
    return render_template("dashboard/error.html", message=error.detail, **_template_tools(lang, None)), 400


@bp.get("")
@login.require_viewer
def page() -> str:
    lang, engine = language(), read_engine()
    known = data.cycles(engine)
    filters = data.parse_filters(request.args, known, today())
    board = sections.build(engine, filters, today(), known)
    return render_template(
        "dashboard/page.html",
        board=board,
        filters=filters,
        headlines=drawing.headlines(board),
        charts=drawing.draw(board, lang, lambda **p: list_url(lang, **p)),
        cycles=known or [filters.cycle],
        **_template_tools(lang, filters),
    )


@bp.get("/subscribers")
@login.require_viewer
def subscribers() -> str:
    lang, engine = language(), read_engine()
    figure = lists.parse_figure(request.args)
    rows, after = lists.figure_rows(engine, figure, today(), _cursor(request.args.get("after")))
    table = Table("subscribers", "list_title", LIST_COLUMNS[lists.source_of(figure)], rows)
    more = url_for("dashboard.subscribers", lang=lang, **figure.params(), after=_encode(after)) if after else None
    return render_template(
        "dashboard/list.html",
        figure=figure,
        table=table,
        total=lists.figure_total(engine, figure, today()),
        next_url=more,
        back_url=url_for("dashboard.page", lang=lang, **_page_params(figure)),
        list_csv=url_for("dashboard.csv", name="subscribers", lang=lang, **figure.params()),
        **_template_tools(lang, None),
    )


def _page_params(figure: lists.Figure) -> dict[str, Any]:
    return {k: v for k, v in figure.params().items() if k in ("cycle", "governorate", "bank")}


def _encode(key: tuple[str, ...]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _cursor(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise data.BadFilter("after", "after= is not a position this page handed out.") from None
    if not isinstance(key, list) or not all(isinstance(k, str) for k in key):
        raise data.BadFilter("after", "after= is not a position this page handed out.")
    return tuple(key)


@bp.get("/<name>.csv")
@login.require_viewer
def csv(name: str) -> Response:
    lang, engine = language(), read_engine()
    rows: Iterable[dict[str, Any]]
    if name == "subscribers":
        figure = lists.parse_figure(request.args)
        table = Table("subscribers", "list_title", LIST_COLUMNS[lists.source_of(figure)], [])
        rows, suffix = lists.all_figure_rows(engine, figure, today()), figure.params()
    else:
        known = data.cycles(engine)
        filters = data.parse_filters(request.args, known, today())
        tables = sections.build(engine, filters, today(), known).tables
        if name not in tables:
            raise data.BadFilter("table", f"There is no table {name!r}; the tables are {', '.join(tables)}.")
        table, rows, suffix = tables[name], tables[name].rows, filters.params()
    filename = "-".join(["dashboard", name, *suffix.values()]).replace(":", "") + ".csv"
    return Response(
        csv_lines(table, rows, lang),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
def login_form() -> Any:
    lang = language()
    target = login.safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("dashboard/login.html", next=target, message=None, **_template_tools(lang, None))
    message, status = _refusal()
    if message is None:
        login.sign_in(request.form.get("token", ""))
        session["lang"] = lang
        return redirect(target)
    return render_template("dashboard/login.html", next=target, message=message, **_template_tools(lang, None)), status


def _refusal() -> tuple[str | None, int]:
    if not login.csrf_ok():
        return "form_expired", 400
    client = login.client_for_token(request.form.get("token", ""))
    if client is None:
        return "bad_token", 401
    if client.role not in login.VIEWERS:
        return "wrong_role", 403
    return None, 200


@bp.post("/logout")
def logout() -> Any:
    if login.csrf_ok():
        login.sign_out()
    return redirect(url_for("dashboard.login"))
