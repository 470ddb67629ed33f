"""Page settings that live in the URL, so a view can be shared.

Streamlit's own ``bind="query-params"`` writes a widget's *displayed* label
to the URL ("Linear (DDPM)", or "线性 (DDPM)" in Chinese), so a link made in
one language does not open in the other. Here the URL holds canonical values
(``?schedule=linear&T=1000&t=250``) whatever the language.

A page declares its settings as ``Param``s and calls ``restore`` before its
widgets (the URL seeds each widget's value on the first visit) and ``publish``
after them (the URL follows the widgets). Widgets take ``key=param.key`` and
``persist_state="session"``, and no default of their own: the default lives
in the ``Param``. Anything in the URL is user input: a value that does not
parse, or is out of range, is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st


@dataclass(frozen=True)
class Param:
    """One setting: its widget key (also its URL name), default, and text form."""

    key: str
    default: Any
    parse: Callable[[str], Any]
    dump: Callable[[Any], str] = str

    def read(self, raw: str | None) -> Any:
        """The value in the URL text, or None when it is missing or not valid."""
        if raw is None:
            return None
        try:
            return self.parse(raw)
        except (ValueError, TypeError, OverflowError, KeyError):
            return None


def int_in(lo: int, hi: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not lo <= value <= hi:
            raise ValueError(f"{value} outside {lo}..{hi}")
        return value
    return parse


def one_of(options) -> Callable[[str], Any]:
    by_text = {str(o): o for o in options}
    return by_text.__getitem__


def some_of(options) -> Callable[[str], list]:
    """Comma-separated subset of options, order kept, duplicates dropped."""
    one = one_of(options)

    def parse(raw: str) -> list:
        return list(dict.fromkeys(one(part) for part in raw.split(",") if part))
    return parse


def flag(raw: str) -> bool:
    return {"1": True, "0": False}[raw]


def dump_list(values) -> str:
    return ",".join(map(str, values))


def dump_flag(value: bool) -> str:
    return "1" if value else "0"


def restore(params: list[Param]) -> None:
    """Give every widget key a value before its widget is drawn: from the URL
    on the first visit, else the default."""
    for p in params:
        if p.key not in st.session_state:
            from_url = p.read(st.query_params.get(p.key))
            st.session_state[p.key] = p.default if from_url is None else from_url


# Settings of the whole app, kept in every page's URL: the language, and the
# model chosen in the sampling pages' picker (lab/models.py).
APP_KEYS = ("lang", "model")


def publish(params: list[Param], page: bool = True) -> None:
    """Show the current values in the URL; defaults are left out to keep it short.
    A page (page=True) also removes what another page left there."""
    if page:
        mine = {p.key for p in params} | set(APP_KEYS)
        for key in [k for k in st.query_params if k not in mine]:
            del st.query_params[key]
    for p in params:
        value = st.session_state.get(p.key, p.default)
        if value == p.default:
            if p.key in st.query_params:
                del st.query_params[p.key]
        elif st.query_params.get(p.key) != p.dump(value):
            st.query_params[p.key] = p.dump(value)
