"""The translation table: every string exists in English and 简体中文 with the same blanks."""

import re
import string

import pytest

from conftest import english_sentences, texts
from lab.i18n import STRINGS, subscript, translate

# Strings that are the same in both languages on purpose (symbols and names).
SAME_IN_BOTH = {"forward.hist_x0", "forward.hist_xt", "forward.residual_x", "schedule.sigmoid"}
HAN = re.compile(r"[\u4e00-\u9fff]")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_every_string_has_both_languages_with_the_same_placeholders(key):
    en, zh = STRINGS[key]
    assert en.strip() and zh.strip()
    assert placeholders(en) == placeholders(zh)
    if key not in SAME_IN_BOTH:
        assert HAN.search(zh), f"{key}: the Chinese text has no Chinese in it"


def test_translate_fills_placeholders():
    assert translate("forward.xt_caption", "en", t=subscript(42)) == "x₄₂: the noisy image"
    assert translate("forward.xt_caption", "zh", t=subscript(42)) == "x₄₂：加噪后的图像"


@pytest.mark.parametrize("page", ["forward", "schedules", "reverse", "explorer", "anatomy", "train"])
def test_chinese_pages_show_no_english_sentences(app, page):
    """Catches a user-visible string written into a page instead of the table."""
    at = app(page, lang="zh")
    shown = texts(at) + "\n".join(
        [w.label for w in (*at.slider, *at.selectbox, *at.radio, *at.number_input,
                           *at.multiselect, *at.toggle)]
        + [c for img in at.image for c in img.captions])
    assert english_sentences(shown) == []
