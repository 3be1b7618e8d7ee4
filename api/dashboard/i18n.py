"""The dashboard's two languages: English and Arabic words, names, and numbers as each language writes them.

Arabic mode writes Arabic-Indic digits (٠١٢٣٤٥٦٧٨٩) with the Arabic thousands separator (٬), decimal separator (٫)
and percent sign (٪), names governorates and banks as `ledger/data/governorates.json` does, and calls months by
their Levantine names (كانون الثاني ...), as Syrian users read them. Money is new Syrian pounds: `SYP` in English,
`ل.س` in Arabic. Numbers are formatted from `Decimal`s as strings, never through a float.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ledger import governorate as gov
from ledger.cycles import Cycle

LANGUAGES = ("en", "ar")
ARABIC_DIGITS = str.maketrans("0123456789,.%", "٠١٢٣٤٥٦٧٨٩٬٫٪")
WESTERN_DIGITS = str.maketrans(
    {**{a: w for a, w in zip("٠١٢٣٤٥٦٧٨٩٬٫٪", "0123456789,.%", strict=True)}, "\u061c": None}
)
ALM = "\u061c"  # ARABIC LETTER MARK
UNIT = {"en": "SYP", "ar": "ل.س"}
MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "ar": (
        "كانون الثاني",
        "شباط",
        "آذار",
        "نيسان",
        "أيار",
        "حزيران",
        "تموز",
        "آب",
        "أيلول",
        "تشرين الأول",
        "تشرين الثاني",
        "كانون الأول",
    ),
}
CHANNELS = {
    "web": ("Web site", "الموقع الإلكتروني"),
    "app": ("Mobile app", "تطبيق الهاتف"),
    "branch": ("Bank branch", "فرع المصرف"),
    "hub": ("E-payments hub", "شبكة المدفوعات الإلكترونية"),
}
STATUSES = {
    "live": ("Live", "مفعّل"),
    "not_live": ("Not live", "غير مفعّل"),
    "break": ("Break", "فرق غير مسوّى"),
    "open": ("Open (today)", "مفتوح (اليوم)"),
    "balanced": ("Balanced", "متوازن"),
    "received": ("Received", "مستلم"),
    "cleared": ("Cleared", "مسوّى"),
    "reversed": ("Reversed", "معكوس"),
    "unpaid": ("Unpaid", "غير مدفوعة"),
    "partially_paid": ("Partially paid", "مدفوعة جزئياً"),
    "paid": ("Paid", "مدفوعة"),
}
BUCKETS = {
    "0-30": ("1-30 days", "١–٣٠ يوماً"),
    "31-60": ("31-60 days", "٣١–٦٠ يوماً"),
    "61-90": ("61-90 days", "٦١–٩٠ يوماً"),
    "90+": ("over 90 days", "أكثر من ٩٠ يوماً"),
}
WORDS: dict[str, tuple[str, str]] = {
    "title": ("Electricity bill collection", "تحصيل فواتير الكهرباء"),
    "ministry": ("Ministry of Electricity: e-payment dashboard", "وزارة الكهرباء: لوحة الدفع الإلكتروني"),
    "other_language": ("العربية", "English"),
    "login_title": ("Sign in to the dashboard", "تسجيل الدخول إلى اللوحة"),
    "token": ("Access token", "رمز الدخول"),
    "token_help": ("The staff or auditor token issued to you.", "رمز الموظف أو المدقق الصادر لك."),
    "sign_in": ("Sign in", "دخول"),
    "sign_out": ("Sign out", "خروج"),
    "signed_in_as": ("Signed in as", "الدخول بصفة"),
    "bad_token": ("That token is not valid.", "الرمز غير صحيح."),
    "wrong_role": (
        "Only staff and auditor tokens may open the dashboard.",
        "اللوحة متاحة لرموز الموظفين والمدققين فقط.",
    ),
    "form_expired": ("The form expired; please sign in again.", "انتهت صلاحية النموذج؛ يرجى تسجيل الدخول مجدداً."),
    "staff": ("staff", "موظف"),
    "auditor": ("auditor", "مدقق"),
    "cycle": ("Cycle", "الدورة"),
    "governorate": ("Governorate", "المحافظة"),
    "bank": ("Bank", "المصرف"),
    "channel": ("Channel", "قناة الدفع"),
    "all_governorates": ("All governorates", "كل المحافظات"),
    "all_banks": ("All banks", "كل المصارف"),
    "apply": ("Apply", "تطبيق"),
    "reset": ("Reset", "إعادة ضبط"),
    "unit_note": ("Amounts in new Syrian pounds (SYP).", "المبالغ بالليرة السورية الجديدة (ل.س)."),
    "bank_note": ("The bank filter applies to payments and clearing.", "يطبَّق مرشح المصرف على المدفوعات والتسوية."),
    "as_of": ("Figures as of", "الأرقام حتى تاريخ"),
    "download_csv": ("Download CSV", "تنزيل CSV"),
    "total": ("Total", "المجموع"),
    "none": ("Nothing to show.", "لا توجد بيانات."),
    "efficiency": ("Collection efficiency", "كفاءة التحصيل"),
    "bills": ("Bills", "الفواتير"),
    "billed": ("Billed", "المفوتر"),
    "adjusted": ("Adjusted", "التعديلات"),
    "paid": ("Paid", "المدفوع"),
    "cleared": ("Cleared", "المسوّى"),
    "outstanding": ("Outstanding", "المتبقي"),
    "payments": ("Payments", "الدفعات"),
    "amount": ("Amount", "المبلغ"),
    "count_share": ("Share of payments", "الحصة من عدد الدفعات"),
    "amount_share": ("Share of amount", "الحصة من المبلغ"),
    "subscribers": ("Subscribers", "المشتركون"),
    "enrolled": ("Enrolled for e-payment", "المسجلون للدفع الإلكتروني"),
    "sec_collection": ("Collection by governorate", "التحصيل حسب المحافظة"),
    "sec_collection_note": (
        "Billed, paid and cleared in the cycle; efficiency is paid / billed.",
        "المفوتر والمدفوع والمسوّى في الدورة؛ الكفاءة = المدفوع ÷ المفوتر.",
    ),
    "sec_trend": ("Trend over cycles", "التطور عبر الدورات"),
    "sec_channels": ("E-payment share by channel", "حصة الدفع الإلكتروني حسب القناة"),
    "sec_banks": ("E-payment share by bank", "حصة الدفع الإلكتروني حسب المصرف"),
    "sec_arrears": ("Arrears by age", "المتأخرات حسب العمر"),
    "sec_arrears_note": (
        "Outstanding on bills past their due date, by days overdue (all cycles).",
        "المتبقي على الفواتير المتجاوزة تاريخ الاستحقاق، حسب أيام التأخير (كل الدورات).",
    ),
    "sec_arrears_gov": ("Arrears by governorate", "المتأخرات حسب المحافظة"),
    "not_yet_due": ("Not yet due", "غير مستحق بعد"),
    "overdue": ("Overdue", "متأخر"),
    "days_overdue": ("Days overdue", "أيام التأخير"),
    "sec_settlement": ("Settlement breaks per bank", "فروق التسوية حسب المصرف"),
    "sec_settlement_note": (
        "What each bank owes for its payments against what it settled; a past day that does not balance is a break.",
        "ما يستحقه كل مصرف عن دفعاته مقابل ما سوّاه؛ اليوم السابق غير المتوازن فرق تسوية.",
    ),
    "owed": ("Owed", "المستحق"),
    "settled": ("Settled", "المسوّى"),
    "difference": ("Difference", "الفرق"),
    "breaks": ("Breaks", "عدد الفروق"),
    "break_amount": ("Amount in breaks", "مبلغ الفروق"),
    "oldest_break_days": ("Oldest break (days)", "أقدم فرق (أيام)"),
    "refunds_due": ("Refunds due", "مبالغ مستحقة الرد"),
    "business_date": ("Business day", "يوم العمل"),
    "age_days": ("Age (days)", "العمر (أيام)"),
    "status": ("Status", "الحالة"),
    "sec_breaks": ("Open breaks", "الفروق القائمة"),
    "sec_rollout": ("E-payment rollout", "انتشار الدفع الإلكتروني"),
    "sec_rollout_note": (
        "Schematic map of the governorates; green ones are live.",
        "خريطة تخطيطية للمحافظات؛ الخضراء مفعّلة.",
    ),
    "e_payment": ("E-payment", "الدفع الإلكتروني"),
    "live_since": ("Live since", "مفعّل منذ"),
    "list_title": ("Subscribers behind the figure", "المشتركون وراء الرقم"),
    "back": ("Back to the dashboard", "العودة إلى اللوحة"),
    "next_page": ("Next page", "الصفحة التالية"),
    "subscriber_no": ("Subscriber", "رقم المشترك"),
    "name": ("Name", "الاسم"),
    "bill": ("Bill", "الفاتورة"),
    "due_date": ("Due date", "تاريخ الاستحقاق"),
    "payment_ref": ("Payment reference", "مرجع الدفعة"),
    "paid_at": ("Paid at", "وقت الدفع"),
    "category": ("Category", "الفئة"),
    "rows": ("rows", "سطراً"),
    "bad_filter": ("That filter is not valid", "المرشح غير صالح"),
    "error": ("Error", "خطأ"),
    "figure_bills": ("Bills issued", "الفواتير الصادرة"),
    "figure_billed": ("Billed", "المفوتر"),
    "figure_adjusted": ("Adjusted", "التعديلات"),
    "figure_paid": ("Paid", "المدفوع"),
    "figure_cleared": ("Cleared", "المسوّى"),
    "figure_outstanding": ("Outstanding", "المتبقي"),
    "figure_arrears": ("Arrears", "المتأخرات"),
    "figure_payments": ("E-payments", "الدفعات الإلكترونية"),
    "figure_position": ("Payments of a business day", "دفعات يوم العمل"),
    "figure_subscribers": ("Subscribers", "المشتركون"),
}


def word(key: str, lang: str) -> str:
    english, arabic = WORDS[key]
    return arabic if lang == "ar" else english


def pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "ar" else pair[0]


def digits(text: str, lang: str) -> str:
    """Western digits and separators in English; Arabic-Indic ones in Arabic."""
    return text.translate(ARABIC_DIGITS) if lang == "ar" else text


def western(text: str) -> str:
    """Back from what either language displays to plain digits (for tests and parsing)."""
    return text.translate(WESTERN_DIGITS)


def number(value: int | Decimal | None, lang: str, places: int = 0) -> str:
    """Thousands separated; an Arabic negative starts with the Arabic letter mark, so its minus stays in front."""
    if value is None:
        return "–"
    quantum = Decimal(1).scaleb(-places)
    text = digits(f"{Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP):,.{places}f}", lang)
    return ALM + text if lang == "ar" and text.startswith("-") else text


def money(value: Decimal | None, lang: str, unit: bool = True) -> str:
    """`1,234.50 SYP` or `١٬٢٣٤٫٥٠ ل.س`."""
    text = number(value, lang, 2)
    return f"{text} {UNIT[lang]}" if unit and value is not None else text


def percent(ratio: Decimal | None, lang: str) -> str:
    """A ratio (0.7512) as a percentage with one place: `75.1%` / `٧٥٫١٪`."""
    if ratio is None:
        return "–"
    return digits(f"{(Decimal(ratio) * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%", lang)


def compact(value: Decimal | int, lang: str) -> str:
    """A short axis label: 1.2M, 350K / ١٫٢ مليون, ٣٥٠ ألف."""
    amount = Decimal(value)
    for size, en, ar in (
        (Decimal(10) ** 9, "B", " مليار"),
        (Decimal(10) ** 6, "M", " مليون"),
        (Decimal(10) ** 3, "K", " ألف"),
    ):
        if abs(amount) >= size:
            short = (amount / size).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP).normalize()
            return digits(f"{short:f}", lang) + (ar if lang == "ar" else en)
    return number(amount, lang)


def day(value: date | str | None, lang: str) -> str:
    """ISO 8601 in English; day/month/year in Arabic digits in Arabic (٢٤/١١/٢٠٢٦), as Syrian forms write it."""
    if value is None:
        return "–"
    when = date.fromisoformat(value) if isinstance(value, str) else value
    return digits(f"{when.day}/{when.month}/{when.year}", lang) if lang == "ar" else when.isoformat()


def governorate(code: str | None, lang: str) -> str:
    if code is None:
        return word("all_governorates", lang)
    return gov.names(code)["name_ar" if lang == "ar" else "name_en"]


def bank(code: str | None, lang: str) -> str:
    if code is None:
        return word("all_banks", lang)
    for entry in gov.reference()["banks"]:
        if entry["code"] == code:
            return str(entry["name_ar" if lang == "ar" else "name_en"])
    return code


def channel(code: str, lang: str) -> str:
    return pick(CHANNELS[code], lang) if code in CHANNELS else code


def status(code: str, lang: str) -> str:
    return pick(STATUSES[code], lang) if code in STATUSES else code


def bucket(code: str, lang: str) -> str:
    return pick(BUCKETS[code], lang) if code in BUCKETS else code


def cycle(name: str, lang: str) -> str:
    """`2026-C5 (Sep-Oct 2026)` / `الدورة ٥ من ٢٠٢٦ (أيلول–تشرين الأول)`."""
    c = Cycle.parse(name)
    first, last = MONTHS[lang][c.start.month - 1], MONTHS[lang][c.end.month - 1]
    if lang == "ar":
        return f"الدورة {digits(str(c.number), lang)} من {digits(str(c.year), lang)} ({first}–{last})"
    return f"{c.name} ({first}–{last} {c.year})"


def cycle_short(name: str, lang: str) -> str:
    """An axis label: `2026-C5` / `٥/٢٠٢٦`."""
    c = Cycle.parse(name)
    return digits(f"{c.number}/{c.year}", lang) if lang == "ar" else c.name


def direction(lang: str) -> str:
    return "rtl" if lang == "ar" else "ltr"


def toolkit(lang: str) -> dict[str, Any]:
    """What the templates call to write words and numbers in `lang`."""
    return {
        "lang": lang,
        "dir": direction(lang),
        "unit": UNIT[lang],
        "t": lambda key: word(key, lang),
        "money": lambda v, unit=True: money(v, lang, unit),
        "number": lambda v, places=0: number(v, lang, places),
        "percent": lambda v: percent(v, lang),
        "day": lambda v: day(v, lang),
        "governorate_name": lambda c: governorate(c, lang),
        "bank_name": lambda c: bank(c, lang),
        "channel_name": lambda c: channel(c, lang),
        "status_name": lambda c: status(c, lang),
        "bucket_name": lambda c: bucket(c, lang),
        "cycle_name": lambda c: cycle(c, lang),
        "digits": lambda text: digits(str(text), lang),
    }
