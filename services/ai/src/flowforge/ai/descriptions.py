"""Descriptions of a dataset and its columns, proposed for the catalog: the LLM's when one
answered, and written here from the offline reading (semantic type, PII, date layout) and the
profile (a closed category's values, empties). Deterministic and stable from batch to batch
(a changed text reopens the suggestion); never a value of a PII column. A person accepts them
(the `descriptions` suggestion) or writes their own (PUT .../descriptions).
"""

from __future__ import annotations

from typing import Any

from flowforge.common.naming import normalise_names

WHAT = {
    "identifier": "Identifier",
    "code": "Code",
    "email": "E-mail address",
    "phone": "Phone number",
    "postal_code": "Postal code",
    "country": "Country",
    "currency_code": "Currency (ISO 4217 code)",
    "currency_amount": "Amount of money",
    "percentage": "Percentage",
    "date": "Date",
    "datetime": "Date and time",
    "time": "Time of day",
    "boolean": "Yes/no flag",
    "uuid": "UUID",
    "ipv4": "IPv4 address",
    "ipv6": "IPv6 address",
    "url": "Web address (URL)",
    "domain": "Internet domain name",
    "iban": "Bank account number (IBAN)",
    "credit_card": "Payment card number",
    "us_ssn": "US social security number",
    "mac_address": "Network hardware (MAC) address",
    "hex_color": "Colour as a hex code",
    "json": "JSON document",
    "person_name": "Person's name",
    "gender": "Gender",
    "year": "Year",
    "latitude": "Latitude (degrees)",
    "longitude": "Longitude (degrees)",
    "integer": "Whole number",
    "decimal": "Number",
    "free_text": "Free text",
    "category": "Category",
    "text": "Text",
}
CLOSED = 12  # a category with at most this many values lists them all


def words(name: str) -> str:
    """A dataset name as words (`web_orders` -> `web orders`)."""
    return " ".join(name.split("_")).strip() or name


def column_description(profile: Any, guess: Any) -> str:
    """Stable facts only (the suggestion reopens when its text changes): what the column
    holds, PII, a closed category's values, its layout, whether it can be empty."""
    kind = guess.type
    parts = [f'{WHAT.get(kind, "Values")} (source column "{profile.name}").']
    if guess.pii:
        parts.append(f"Personal data ({guess.pii_kind or kind}); values are masked for viewers.")
    elif (
        kind in ("category", "boolean", "gender")
        and profile.top_values
        and profile.distinct_exact
        and profile.distinct <= min(CLOSED, len(profile.top_values))
    ):
        parts.append(f"One of {', '.join(sorted(str(v) for v, _ in profile.top_values))}.")
    if guess.format:
        parts.append(f"Written as {guess.format}.")
    if profile.rows and profile.nulls == profile.rows:
        parts.append("Empty so far.")
    elif profile.nulls:
        parts.append("Can be empty.")
    return " ".join(parts)


def dataset_description(dataset: str, profiles: list[Any], guesses: list[Any]) -> str:
    """In Silver column names (those its readers query)."""
    silver = normalise_names([p.name for p in profiles])
    pii = [silver[p.name] for p, g in zip(profiles, guesses, strict=True) if g.pii]
    keys = [
        silver[p.name]
        for p, g in zip(profiles, guesses, strict=True)
        if g.type in ("identifier", "uuid") and p.nulls == 0 and p.present
        and p.distinct >= p.present and p.distinct_exact
    ]  # fmt: skip
    kinds = {g.type for g in guesses}
    text = f"{words(dataset).capitalize()}: {len(profiles)} columns."
    if keys:
        text += f" One row per {keys[0]}."
    if kinds & {"date", "datetime"}:
        dated = [silver[p.name] for p, g in zip(profiles, guesses, strict=True)
                 if g.type in ("date", "datetime")]  # fmt: skip
        text += f" Dated by {', '.join(dated[:3])}."
    if pii:
        text += f" Holds personal data in {len(pii)} column(s): {', '.join(pii[:5])}."
    return text


def offline(dataset: str, profiles: list[Any], guesses: list[Any]) -> dict[str, Any]:
    """The `descriptions` suggestion's payload, in Silver column names."""
    silver = normalise_names([p.name for p in profiles])
    return {
        "description": dataset_description(dataset, profiles, guesses),
        "columns": {
            silver[p.name]: column_description(p, g) for p, g in zip(profiles, guesses, strict=True)
        },
    }


def from_llm(
    dataset_text: str | None, columns: dict[str, str], profiles: list[Any]
) -> dict[str, Any] | None:
    """The payload from an LLM's answer ({source column: text}), in Silver column names;
    None when it described nothing."""
    silver = normalise_names([p.name for p in profiles])
    described = {
        silver[name]: text.strip() for name, text in columns.items() if name in silver and text
    }
    text = (dataset_text or "").strip()
    if not described and not text:
        return None
    return {"description": text or None, "columns": described}
