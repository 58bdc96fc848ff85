"""Numbers for people: currency, counts, percentages, durations and changes, formatted with Babel.

Every helper accepts None/NaN and returns an en dash, so a report never prints "nan" or fails on a
missing value. Locale is fixed to en_US for now (one place to change: LOCALE).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from babel import numbers

LOCALE = "en_US"
MISSING = "–"


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def money(value: Any, currency: str = "USD", compact: bool | None = None) -> str:
    """`$1,234` (whole units from 100 up), `$12.34` below 100, `$1.23M` from a million (or when compact)."""
    if _missing(value):
        return MISSING
    amount = float(value)
    if compact or (compact is None and abs(amount) >= 1_000_000):
        return numbers.format_compact_currency(amount, currency, locale=LOCALE, fraction_digits=2)
    pattern = "¤#,##0" if abs(amount) >= 100 else "¤#,##0.00"
    return numbers.format_currency(amount, currency, format=pattern, locale=LOCALE, currency_digits=False)


def currency_symbol(currency: str = "USD") -> str:
    """`$` for USD, `€` for EUR, the ISO code when Babel knows no symbol."""
    return numbers.get_currency_symbol(currency, locale=LOCALE)


def count(value: Any, compact: bool = False) -> str:
    """`12,345` (or `12.3K` when compact)."""
    if _missing(value):
        return MISSING
    if compact and abs(float(value)) >= 10_000:
        return numbers.format_compact_decimal(float(value), locale=LOCALE, fraction_digits=1)
    return numbers.format_decimal(round(float(value)), format="#,##0", locale=LOCALE)


def decimal(value: Any, digits: int = 1) -> str:
    """`1,234.5` with a fixed number of fraction digits."""
    if _missing(value):
        return MISSING
    return numbers.format_decimal(float(value), format="#,##0." + "0" * digits if digits else "#,##0", locale=LOCALE)


def percent(fraction: Any, digits: int = 1) -> str:
    """A fraction as a percentage: 0.1234 → `12.3%`."""
    if _missing(fraction):
        return MISSING
    return numbers.format_percent(
        float(fraction), format="#,##0." + "0" * digits + "%" if digits else "#,##0%", locale=LOCALE
    )


def change(current: Any, previous: Any) -> float | None:
    """Relative change from `previous` to `current` (0.1 = +10%); None when there is no base to compare."""
    if _missing(current) or _missing(previous) or float(previous) == 0:
        return None
    return float(current) / float(previous) - 1


def signed_percent(fraction: Any, digits: int = 1) -> str:
    """A relative change with its sign: `+12.3%`, `−4.0%` (true minus sign), `±0.0%`."""
    if _missing(fraction):
        return MISSING
    text = percent(abs(float(fraction)), digits)
    if round(float(fraction) * 100, digits) == 0:
        return "±" + text
    return ("+" if float(fraction) > 0 else "−") + text


def duration(seconds: Any) -> str:
    """`45 s`, `12 min`, `3.4 h`, `2.1 d`: one unit, chosen for the size of the value."""
    if _missing(seconds):
        return MISSING
    value = float(seconds)
    if abs(value) < 60:
        return f"{value:.0f} s"
    if abs(value) < 3600:
        return f"{value / 60:.0f} min"
    if abs(value) < 86_400 * 2:
        return f"{value / 3600:.1f} h"
    return f"{value / 86_400:.1f} d"


def with_unit(value: Any, unit: str) -> str:
    """A value in a unit named by the data: share (0..1) → `12.3%`, hours → `3.4 h`, seconds → duration."""
    if unit == "share":
        return percent(value)
    if unit == "hours":
        return MISSING if _missing(value) else f"{decimal(value)} h"
    if unit == "seconds":
        return duration(value)
    return MISSING if _missing(value) else f"{decimal(value)} {unit}".strip()


def timestamp(value: Any) -> str:
    """`2024-01-02 13:45 UTC` (minutes are enough for a report)."""
    if _missing(value):
        return MISSING
    moment = pd.Timestamp(value)
    moment = moment.tz_convert("UTC") if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%d %H:%M UTC")


# Column kinds understood by `format_value` (and by hm_utils.reports tables).
KINDS = ("money", "count", "percent", "decimal", "duration", "text", "date", "datetime", "flag")


def format_value(value: Any, kind: str, currency: str = "USD") -> str:
    """One cell formatted by kind (see KINDS)."""
    if kind == "money":
        return money(value, currency)
    if kind == "count":
        return count(value)
    if kind == "percent":
        return percent(value)
    if kind == "decimal":
        return decimal(value)
    if kind == "duration":
        return duration(value)
    if kind == "datetime":
        return timestamp(value)
    if kind == "flag":
        return MISSING if _missing(value) else ("yes" if bool(value) else "no")
    if kind in ("date", "text"):
        text = MISSING if _missing(value) else str(value)
        return text[:10] if kind == "date" else text
    raise ValueError(f"unknown format kind '{kind}'; use one of {KINDS}")
