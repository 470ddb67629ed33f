"""Every string a user sees, in English and 简体中文, in one table.

Pages call ``t("key", **values)``; the sidebar switch sets the language.
Terms follow the book's Chinese edition where it has one (扩散模型, 前向过程,
噪声调度, 重参数化技巧); symbols stay as in the formulas. Subscript t is not in the page font, so
markdown text writes it in LaTeX ($x_t$), Plotly text in HTML (x<sub>t</sub>), and
tables and image captions as x_t.
"""

from __future__ import annotations

import streamlit as st

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "en"

# key: (English, 简体中文). Placeholders in braces must match in both.
STRINGS: dict[str, tuple[str, str]] = {
    # navigation and sidebar
    "nav.home": ("Home", "首页"),
    "nav.forward": ("Forward process", "前向过程"),
    "nav.reverse": ("Reverse denoising", "反向去噪"),
    "nav.explorer": ("Sampling explorer", "采样探索"),
    "nav.anatomy": ("Model anatomy", "模型解剖"),
    "nav.train": ("Train live", "实时训练"),
    "nav.schedules": ("Schedules", "噪声调度"),
    "sidebar.about": (
        "Diffusion Lab: the denoising diffusion model of chapter 8 of *Generative Deep "
        "Learning* (2nd ed.), taken apart. Everything runs on your machine, offline.",
        "扩散实验室：拆解《生成式深度学习》（第 2 版）第 8 章的去噪扩散模型。"
        "一切都在你的电脑上离线运行。"),
    # shared
    "common.schedule": ("Schedule", "噪声调度"),
    "common.size": ("Image size", "图像尺寸"),
    "common.seed": ("Noise seed", "噪声种子"),
    "common.seed_help": ("The same seed always draws the same noise ε, so a view can be "
                         "reproduced and shared.",
                         "相同的种子总是抽取相同的噪声 ε，因此视图可以复现和分享。"),
    "common.normal_pdf": ("N(0, 1) density", "N(0, 1) 密度"),
    "common.play": ("Play", "播放"),
    "common.pause": ("Pause", "暂停"),
    # schedule names
    "schedule.linear": ("Linear (DDPM)", "线性 (DDPM)"),
    "schedule.scaled_linear": ("Scaled linear (Stable Diffusion)", "缩放线性 (Stable Diffusion)"),
    "schedule.cosine": ("Cosine (Nichol & Dhariwal)", "余弦 (Nichol & Dhariwal)"),
    "schedule.offset_cosine": ("Offset cosine (the book)", "偏移余弦（书中所用）"),
    "schedule.sigmoid": ("Sigmoid", "Sigmoid"),
    # image picker
    "picker.source": ("Image x₀", "图像 x₀"),
    "picker.source.builtin": ("Built-in flowers", "内置花朵"),
    "picker.source.upload": ("Upload your own", "上传自己的图像"),
    "picker.flower": ("Flower", "花朵"),
    "picker.upload": ("PNG, JPEG or WebP image", "PNG、JPEG 或 WebP 图像"),
    "picker.upload_help": ("The image is cropped to a centred square and resized; it stays "
                           "on this machine.",
                           "图像会被裁剪为居中的正方形并缩放；它只保存在本机。"),
    "picker.using_upload": ("Using your image **{name}**.", "正在使用你的图像 **{name}**。"),
    "picker.no_upload": ("No image uploaded yet: showing a built-in flower meanwhile.",
                         "尚未上传图像：暂时显示一朵内置花朵。"),
    # image errors, by ImageLoadError.code
    "error.image.empty": ("**{name}** is empty. Choose a PNG, JPEG or WebP image.",
                          "**{name}** 是空文件。请选择 PNG、JPEG 或 WebP 图像。"),
    "error.image.not_image": ("**{name}** is not an image this lab can read. Upload a PNG, "
                              "JPEG or WebP file. The previous image is still in use.",
                              "无法将 **{name}** 识别为图像。请上传 PNG、JPEG 或 WebP 文件。"
                              "仍在使用之前的图像。"),
    "error.image.corrupt": ("**{name}** is damaged or incomplete and cannot be decoded. "
                            "Export it again and retry. The previous image is still in use.",
                            "**{name}** 已损坏或不完整，无法解码。请重新导出后再试。"
                            "仍在使用之前的图像。"),
    "error.image.too_large": ("**{name}** is too large for this lab. Use an image under "
                              "{limit} (it was {size}). The previous image is still in use.",
                              "**{name}** 对本实验室来说太大了。请使用小于 {limit} 的图像"
                              "（该文件为 {size}）。仍在使用之前的图像。"),
    "error.image.unsupported": ("**{name}** is in an image format this lab cannot use. Save it "
                                "as PNG, JPEG or WebP. The previous image is still in use.",
                                "**{name}** 的图像格式无法使用。请另存为 PNG、JPEG 或 WebP。"
                                "仍在使用之前的图像。"),
    # forward page
    "forward.title": ("Forward process: from an image to noise", "前向过程：从图像到噪声"),
    "forward.intro": (
        "A diffusion model is trained on images that have been **noised on purpose**. The "
        "forward process mixes the clean image x₀ with Gaussian noise ε; the schedule decides "
        "how much of each is left at step t. Thanks to the **reparameterisation trick** any $x_t$ "
        "can be made in one shot, without running the t steps before it.",
        "扩散模型是在**被刻意加噪**的图像上训练的。前向过程把干净图像 x₀ 与高斯噪声 ε "
        "混合；噪声调度决定在第 t 步时两者各剩多少。借助**重参数化技巧**，任何 $x_t$ "
        "都可以一步生成，而无需先运行之前的 t 步。"),
    "forward.T_help": ("Number of diffusion steps T. The DDPM paper and the book's linear "
                       "schedule use 1,000.",
                       "扩散总步数 T。DDPM 论文和书中的线性调度都使用 1,000 步。"),
    "forward.t": ("Step t", "步数 t"),
    "forward.t_help": ("t = 0 is the clean image; t = T is (almost) pure noise.",
                       "t = 0 是干净图像；t = T 几乎是纯噪声。"),
    "forward.x0_caption": ("x₀: the clean image", "x₀：干净图像"),
    "forward.eps_caption": ("ε ~ N(0, I): the noise", "ε ~ N(0, I)：噪声"),
    "forward.xt_caption": ("x{t}: the noisy image", "x{t}：加噪后的图像"),
    "forward.equation_note": (
        "Pixels are scaled to [−1, 1]; the images show them back in [0, 1], clipped. "
        "√ᾱ is the signal rate, √(1−ᾱ) the noise rate, and their squares add up to 1.",
        "像素被缩放到 [−1, 1]；图像显示时映射回 [0, 1] 并截断。√ᾱ 是信号率，√(1−ᾱ) "
        "是噪声率，二者的平方和为 1。"),
    "forward.hist_title": ("Pixel values drift towards N(0, 1)", "像素值逐渐趋向 N(0, 1)"),
    "forward.hist_x": ("pixel value", "像素值"),
    "forward.hist_x0": ("x₀", "x₀"),
    "forward.hist_xt": ("x{t}", "x{t}"),
    "forward.chain_title": ("One shot or step by step: the same distribution",
                            "一步到位或逐步加噪：分布相同"),
    "forward.chain_intro": (
        "The one-shot formula is a shortcut for the Markov chain "
        "$x_t = \\sqrt{1-\\beta_t}\\,x_{t-1} + \\sqrt{\\beta_t}\\,\\varepsilon_t$. "
        "Below, the chain really runs t steps from the same x₀ with its own noise. The "
        "pictures differ pixel by pixel (other noise) but the noise they carry, "
        "$(x_t - \\sqrt{\\bar\\alpha}\\,x_0)/\\sqrt{1-\\bar\\alpha}$, has the same N(0, 1) "
        "distribution.",
        "一步公式是马尔可夫链 "
        "$x_t = \\sqrt{1-\\beta_t}\\,x_{t-1} + \\sqrt{\\beta_t}\\,\\varepsilon_t$ "
        "的捷径。下面从同一个 x₀ "
        "出发，用链自己的噪声真正运行 t 步。两幅图像逐像素不同（噪声不同），但它们携带的"
        "噪声 $(x_t - \\sqrt{\\bar\\alpha}\\,x_0)/\\sqrt{1-\\bar\\alpha}$ 服从相同的 N(0, 1) 分布。"),
    "forward.chain_at_zero": ("At t = 0 there is no noise yet: move the slider.",
                              "t = 0 时还没有噪声：请移动滑块。"),
    "forward.chain_running": ("Running the chain to t = {t}…", "正在把链运行到 t = {t}…"),
    "forward.one_shot": ("one shot", "一步公式"),
    "forward.chain": ("chain, {t} steps", "马尔可夫链，{t} 步"),
    "forward.chain_short": ("chain", "马尔可夫链"),
    "forward.residual_title": ("Noise carried by x<sub>t</sub>, standardised", "x<sub>t</sub> 携带的噪声（标准化后）"),
    "forward.residual_x": ("(x<sub>t</sub> − √ᾱ·x₀) / √(1−ᾱ)", "(x<sub>t</sub> − √ᾱ·x₀) / √(1−ᾱ)"),
    "forward.col_method": ("method", "方法"),
    "forward.col_xt_mean": ("x_t mean", "x_t 均值"),
    "forward.col_xt_std": ("x_t std", "x_t 标准差"),
    "forward.col_r_mean": ("noise mean (→ 0)", "噪声均值（→ 0）"),
    "forward.col_r_std": ("noise std (→ 1)", "噪声标准差（→ 1）"),
    "forward.chain_note": (
        "Both rows should show a noise mean near 0 and a standard deviation near 1. Rounding "
        "in the chain adds up over thousands of steps, so tiny differences are expected.",
        "两行的噪声均值都应接近 0，标准差接近 1。链在数千步中会累积舍入误差，"
        "因此存在微小差异是正常的。"),
    "forward.filmstrip_title": ("Filmstrip: $x_t$ at evenly spaced t", "胶片：等间隔 t 的 $x_t$"),
    "forward.animation_title": ("Animation", "动画"),
    "forward.animation_note": ("Plays in your browser: no waiting for the server.",
                               "在浏览器中播放：无需等待服务器。"),
    # schedules page
    "schedules.title": ("Noise schedules compared", "噪声调度对比"),
    "schedules.intro": (
        "A schedule decides how fast the signal fades. The linear schedule of DDPM destroys "
        "the image early and wastes the last steps on almost pure noise; the cosine schedules "
        "spread the damage more evenly. The clearest way to compare them is the log "
        "signal-to-noise ratio, log SNR = log(ᾱ / (1−ᾱ)).",
        "噪声调度决定信号消失的速度。DDPM 的线性调度过早地破坏图像，最后许多步几乎都是"
        "纯噪声；余弦类调度把破坏分布得更均匀。比较它们最清楚的方式是对数信噪比 "
        "log SNR = log(ᾱ / (1−ᾱ))。"),
    "schedules.pick": ("Schedules", "调度"),
    "schedules.zero_snr": ("Zero terminal SNR", "终点信噪比为零"),
    "schedules.zero_snr_help": (
        "Lin et al. (2023): rescale so that ᾱ at t = T is exactly 0, i.e. the last step is "
        "pure noise, as at sampling time. A model that predicts ε cannot recover x₀ there.",
        "Lin 等人 (2023)：重新缩放使 t = T 时 ᾱ 恰好为 0，即最后一步是纯噪声，与采样时一致。"
        "预测 ε 的模型在这一步无法还原 x₀。"),
    "schedules.params": ("Parameters of each schedule", "各调度的参数"),
    "param.beta_start": ("β start", "β 起点"),
    "param.beta_end": ("β end", "β 终点"),
    "param.s": ("offset s", "偏移量 s"),
    "param.max_beta": ("β cap", "β 上限"),
    "param.min_signal_rate": ("min signal rate", "最小信号率"),
    "param.max_signal_rate": ("max signal rate", "最大信号率"),
    "schedules.none": ("Pick at least one schedule.", "请至少选择一个调度。"),
    "schedules.bad_params": (
        "The parameters of **{name}** are not valid, so it is left out: β start must not "
        "exceed β end, and the offset cosine needs min signal rate < max signal rate.",
        "**{name}** 的参数无效，因此未显示：β 起点不能大于 β 终点，偏移余弦要求最小信号率 "
        "< 最大信号率。"),
    "schedules.curves_title": ("The curves", "曲线"),
    "schedules.panel_alpha_bar": ("ᾱ = signal rate²", "ᾱ = 信号率²"),
    "schedules.panel_noise": ("1 − ᾱ = noise rate²", "1 − ᾱ = 噪声率²"),
    "schedules.panel_beta": ("β per step (log scale)", "每步的 β（对数坐标）"),
    "schedules.panel_log_snr": ("log SNR", "对数信噪比 log SNR"),
    "schedules.curves_note": (
        "The offset cosine never reaches zero signal (ᾱ ≥ 0.02² at t = T): x̂₀ = ($x_t$ − "
        "noise rate·ε̂)/signal rate divides by the signal rate. Its ᾱ also starts at 0.95² "
        "rather than 1, so its first β is about 0.1: the jump at the left of the β panel.",
        "偏移余弦的信号永远不会降到零（t = T 时 ᾱ ≥ 0.02²）：x̂₀ = ($x_t$ − 噪声率·ε̂)/信号率 "
        "要除以信号率。它的 ᾱ 也从 0.95² 而不是 1 开始，因此第一步的 β 约为 0.1，"
        "即 β 图左端的跳变。"),
    "schedules.table_title": ("Key numbers", "关键数值"),
    "schedules.col_schedule": ("schedule", "调度"),
    "schedules.col_alpha_bar_end": ("ᾱ at t = T", "t = T 时的 ᾱ"),
    "schedules.col_terminal_log_snr": ("log SNR at t = T", "t = T 时的 log SNR"),
    "schedules.col_t_snr_1": ("t/T where SNR = 1", "SNR = 1 处的 t/T"),
    "schedules.col_share": ("steps with SNR > 1", "SNR > 1 的步数占比"),
    "schedules.table_note": (
        "Steps with SNR > 1 are those where the image still outweighs the noise. A terminal "
        "SNR above 0 means training never sees pure noise, while sampling starts from it.",
        "SNR > 1 的步骤中图像仍多于噪声。终点信噪比大于 0 意味着训练从未见过纯噪声，"
        "而采样却从纯噪声开始。"),
    "schedules.grid_title": ("The same image, the same noise, each schedule",
                             "同一图像、同一噪声、不同调度"),
    "schedules.grid_flower": ("Built-in flower", "内置花朵"),
    "schedules.grid_note": ("Rows are schedules, columns are steps; x₀ and ε are identical "
                            "everywhere, so every difference comes from the schedule.",
                            "每行一个调度，每列一个步数；x₀ 和 ε 处处相同，"
                            "因此所有差异都来自调度本身。"),
    "schedules.p1_title": ("Pitfall: the book's linear schedule on other grids",
                           "陷阱：书中的线性调度用在其他时间网格上"),
    "schedules.p1_intro": (
        "The book computes the linear schedule as `cumprod(1 − β(t))` over **whatever times it "
        "is given**. On the full ordered grid of T = 1,000 that is right. On a short sampling "
        "grid, or on a shuffled training batch, the product runs over the wrong steps: "
        "the model is told the image is far cleaner than it is. The fix: compute ᾱ once "
        "for all T steps and look it up, as this lab does.",
        "书中把线性调度写成对**传入的任意时间**求 `cumprod(1 − β(t))`。在完整有序的 "
        "T = 1,000 网格上这是对的；但在较短的采样网格上，或在打乱顺序的训练批次上，"
        "累乘跨越了错误的步骤：模型被告知图像比实际干净得多。修正方法：对全部 T 步"
        "预先计算一次 ᾱ 再查表，本实验室就是这样做的。"),
    "schedules.p1_grid": ("Grid size the book's function is called on",
                          "调用书中函数时的网格大小"),
    "schedules.p1_correct": ("correct: table of T = 1,000", "正确：T = 1,000 的查表"),
    "schedules.p1_book_grid": ("book's code on a {n}-point grid", "书中代码，{n} 点网格"),
    "schedules.p1_book_batch": ("book's code on a shuffled batch of {n}",
                                "书中代码，{n} 个打乱的批次"),
    "schedules.p1_chart_title": ("ᾱ of the linear schedule, computed two ways",
                                 "线性调度的 ᾱ，两种算法"),
    "schedules.p1_metric_book": ("ᾱ at t = {t}, book's code", "t = {t} 时的 ᾱ（书中代码）"),
    "schedules.p1_metric_right": ("ᾱ at t = {t}, correct", "t = {t} 时的 ᾱ（正确）"),
    "schedules.p1_img_book": ("x_t the book's code makes", "书中代码得到的 x_t"),
    "schedules.p1_img_right": ("x_t it should be", "应有的 x_t"),
    "schedules.p1_fix": (
        "A related slip (pitfall P2): a printed variant returns variances where the code "
        "returns standard deviations, so signal² + noise² ≠ 1. This lab tests that identity "
        "for every schedule.",
        "相关错误（陷阱 P2）：书中印刷的某个版本返回的是方差而代码返回的是标准差，导致 "
        "信号² + 噪声² ≠ 1。本实验室对每个调度都测试了这一恒等式。"),
}


_SUBSCRIPT = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")


def subscript(value) -> str:
    """42 -> '₄₂', for symbols such as x₄₂ in plain text (captions, legends)."""
    return str(value).translate(_SUBSCRIPT)


def _merge_page_tables() -> None:
    """Pages with many strings keep them in lab/strings/<page>.py (a STRINGS dict of the
    same shape, keys prefixed with the page name); they join this one table here."""
    import importlib
    import pkgutil

    from lab import strings

    for info in pkgutil.iter_modules(strings.__path__):
        table = importlib.import_module(f"lab.strings.{info.name}").STRINGS
        clash = set(table) & set(STRINGS)
        if clash:
            raise KeyError(f"lab/strings/{info.name}.py redefines {sorted(clash)}")
        STRINGS.update(table)


_merge_page_tables()


def translate(key: str, lang: str, **values) -> str:
    """The string for key in lang, with {placeholders} filled in.

    Only strings called with values are formatted, so a string without
    placeholders may hold LaTeX braces ($x_{t-1}$)."""
    en, zh = STRINGS[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text


def current_language() -> str:
    lang = st.session_state.get("lang", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, **values) -> str:
    """Translate for the language chosen in the sidebar."""
    return translate(key, current_language(), **values)


def schedule_label(name: str) -> str:
    return t(f"schedule.{name}")


def labels(prefix: str):
    """A format_func for option widgets: option v shows as the string "prefix.v".

    The language is fixed when the widget is drawn, so the labels a widget
    was drawn with stay the labels it is read back with.
    """
    lang = current_language()
    return lambda value: translate(f"{prefix}.{value}", lang)
