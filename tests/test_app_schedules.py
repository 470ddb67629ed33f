"""The Schedules page (app_pages/schedules.py), driven through Streamlit's AppTest."""

import json

from conftest import no_exceptions, texts


def key_table(at):
    return at.dataframe[0].value.set_index(at.dataframe[0].value.columns[0])


def test_schedules_page_compares_linear_cosine_and_offset_cosine_by_default(app):
    at = app("schedules")
    no_exceptions(at)
    assert at.title[0].value == "Noise schedules compared"
    table = key_table(at)
    assert list(table.index) == ["Linear (DDPM)", "Cosine (Nichol & Dhariwal)",
                                 "Offset cosine (the book)"]
    assert table.loc["Linear (DDPM)", "ᾱ at t = T"] == "4.04e-05"
    assert table.loc["Offset cosine (the book)", "ᾱ at t = T"] == "0.0004"
    assert table.loc["Cosine (Nichol & Dhariwal)", "t/T where SNR = 1"] == "0.496"


def test_curves_show_four_panels_for_each_schedule(app):
    at = app("schedules")
    curves = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(curves["data"]) == 3 * 4
    titles = [a["text"] for a in curves["layout"]["annotations"]]
    assert titles == ["ᾱ = signal rate²", "1 − ᾱ = noise rate²", "β per step (log scale)", "log SNR"]
    assert curves["layout"]["yaxis3"]["type"] == "log"


def test_image_grid_has_a_row_per_schedule_and_a_column_per_t(app):
    at = app("schedules", schedules="linear,sigmoid")
    cells = [img for img in at.image if img.captions[0].startswith("t/T")]
    assert len(cells) == 2 * 9
    rows = [cells[:9], cells[9:]]
    assert rows[0][0].captions == ["t/T = 0"] and rows[0][-1].captions == ["t/T = 1"]
    # Same x0 and eps: t = 0 is the same picture in every row, t = T/2 is not.
    assert rows[0][0].value == rows[1][0].value
    assert rows[0][4].value != rows[1][4].value


def test_zero_terminal_snr_makes_the_last_step_pure_noise(app):
    at = app("schedules")
    at.toggle(key="zsnr").set_value(True).run()
    no_exceptions(at)
    assert set(key_table(at)["ᾱ at t = T"]) == {"0"}
    assert at.query_params["zsnr"] in ("1", ["1"])


def test_bad_schedule_parameters_give_a_message_and_the_others_stay(app):
    at = app("schedules")
    at.number_input(key="p_linear_beta_start").set_value(0.05).run()  # above beta_end 0.02
    no_exceptions(at)
    assert len(at.error) == 1
    assert "The parameters of **Linear (DDPM)** are not valid" in at.error[0].value
    assert list(key_table(at).index) == ["Cosine (Nichol & Dhariwal)", "Offset cosine (the book)"]


def test_no_schedule_chosen_asks_for_one(app):
    at = app("schedules")
    at.multiselect(key="schedules").set_value([]).run()
    no_exceptions(at)
    assert "Pick at least one schedule." in texts(at)


def test_pitfall_p1_shows_the_books_linear_schedule_on_a_20_step_grid(app):
    at = app("schedules")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["ᾱ at t = 0.95, book's code"] == "0.825"
    assert float(metrics["ᾱ at t = 0.95, correct"]) < 1e-3
    at.slider(key="p1_n").set_value(1000).run()
    metrics = {m.label: m.value for m in at.metric}
    # On the full grid of 1,000 the book's code is right (to the rounding of its grid).
    book, right = (float(metrics[f"ᾱ at t = 0.999, {w}"]) for w in ("book's code", "correct"))
    assert abs(book - right) / right < 0.05


def test_shared_url_restores_the_schedules_view(app):
    at = app("schedules", schedules="sigmoid,scaled_linear", steps="250", zsnr="1", p1_n="50")
    no_exceptions(at)
    assert at.multiselect(key="schedules").value == ["sigmoid", "scaled_linear"]
    assert at.selectbox(key="steps").value == 250
    assert at.toggle(key="zsnr").value is True
    assert at.slider(key="p1_n").value == 50


def test_schedules_page_in_chinese(app):
    at = app("schedules", lang="zh")
    no_exceptions(at)
    assert at.title[0].value == "噪声调度对比"
    assert list(key_table(at).index)[2] == "偏移余弦（书中所用）"
