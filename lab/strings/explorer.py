"""Strings of the Sampling explorer page (app_pages/explorer.py)."""

STRINGS: dict[str, tuple[str, str]] = {
    "explorer.title": ("Sampling explorer", "采样探索"),
    "explorer.intro": (
        "Three experiments with a trained model (pick it in the sidebar): how many steps a "
        "sample needs, what lies between two noises, and whether a model can be sampled with "
        "a schedule it was not trained with. All of them use deterministic DDIM (η = 0), so "
        "the same noise always gives the same image.",
        "用一个训练好的模型（在侧边栏选择）做三个实验：一个样本需要多少步；两个噪声之间有什么；"
        "模型能否用训练时没用过的调度来采样。它们都使用确定性 DDIM（η = 0），因此同一个噪声"
        "总是得到同一张图像。"),
    "explorer.spacing": ("Timestep spacing", "时间步间隔"),
    "explorer.spacing_help": (
        "Which noise levels the sampler visits. Continuous t is the book's: t goes from 1 to "
        "0 in equal steps. The others pick entries of the schedule's table of T steps.",
        "采样器经过哪些噪声水平。连续 t 是书中的做法：t 以相等步长从 1 走到 0。"
        "其他方式从调度的 T 步表格中选取条目。"),
    "explorer.spacing.continuous": ("Continuous t (the book)", "连续 t（书中所用）"),
    "explorer.spacing.trailing": ("Trailing (from T)", "Trailing（从 T 开始）"),
    "explorer.spacing.linspace": ("Linspace (T to 1)", "Linspace（T 到 1 均匀）"),
    "explorer.spacing.leading": ("Leading (skips T)", "Leading（跳过 T）"),
    "explorer.seed": ("First seed", "起始种子"),
    "explorer.seed_help": ("Row k of the step grid starts from the noise of seed + k.",
                           "步数网格的第 k 行从种子 + k 的噪声开始。"),
    "explorer.rows": ("Rows", "行数"),
    "explorer.steps": ("Steps (interpolation and schedules)", "步数（插值与调度实验）"),
    "explorer.model_error": ("The model could not be loaded: {detail}",
                             "无法加载模型：{detail}"),
    "explorer.error": ("Sampling failed with these settings: {detail}",
                       "使用这些设置采样失败：{detail}"),
    "explorer.not_finite": (
        "Some pixels came out as NaN or infinity (shown black): the model divided by a "
        "signal rate near zero. Try another schedule or spacing.",
        "部分像素为 NaN 或无穷大（显示为黑色）：模型除以了接近零的信号率。"
        "请尝试其他调度或时间步间隔。"),
    # steps
    "explorer.steps_title": ("Same noise, 1 to 100 steps", "同一噪声，1 到 100 步"),
    "explorer.steps_intro": (
        "The book's experiment. With one step the model makes a single guess of x̂₀ from pure "
        "noise: a blurry average of what it has learnt. A few steps already sharpen the "
        "picture; beyond about 20 it hardly changes, while the time grows with every step "
        "(one network call each). Rows are seeds, columns are step counts.",
        "书中的实验。只用一步时，模型从纯噪声出发只对 x̂₀ 做一次猜测：它所学内容的模糊平均。"
        "几步之后图像就清晰起来；超过约 20 步后几乎不再变化，而耗时随步数增加"
        "（每步调用一次网络）。每行一个种子，每列一个步数。"),
    "explorer.computing": ("Sampling with {n} steps…", "正在以 {n} 步采样…"),
    "explorer.one_step": ("1 step", "1 步"),
    "explorer.n_steps": ("{n} steps", "{n} 步"),
    "explorer.ms": ("{ms:.0f} ms", "{ms:.0f} 毫秒"),
    "explorer.s": ("{s:.2f} s", "{s:.2f} 秒"),
    "explorer.steps_capped": (
        "The model's schedule has only T = {T} steps, so a table spacing cannot take more: "
        "columns above {T} are left out. The continuous spacing has no such limit.",
        "模型的调度只有 T = {T} 步，表格类间隔无法取更多步：超过 {T} 的列已省略。"
        "连续间隔没有这个限制。"),
    "explorer.timing_note": (
        "Times are measured once for the whole row batch and kept: changing another setting "
        "does not rerun this grid.",
        "耗时针对整批行测量一次后保留：修改其他设置不会重新计算这个网格。"),
    # interpolation
    "explorer.interp_title": ("Spherical interpolation between two noises",
                              "两个噪声之间的球面插值"),
    "explorer.interp_intro": (
        "Mix two noises a and b as $\\sin(\\tfrac{\\pi}{2}s)\\,b + \\cos(\\tfrac{\\pi}{2}s)\\,a$ "
        "and sample each mixture. Since $\\sin^2 + \\cos^2 = 1$, every mixture has the size of "
        "a real noise sample, so every point decodes to a plausible image. A straight line "
        "$(1-s)\\,a + s\\,b$ would shrink the noise to $1/\\sqrt{2}$ of it halfway and give "
        "dull, washed-out pictures (see the chart).",
        "把两个噪声 a 和 b 混合为 $\\sin(\\tfrac{\\pi}{2}s)\\,b + \\cos(\\tfrac{\\pi}{2}s)\\,a$，"
        "再对每个混合结果采样。由于 $\\sin^2 + \\cos^2 = 1$，每个混合结果的大小都与真实噪声"
        "样本相同，因此每个点都能解码出合理的图像。直线插值 $(1-s)\\,a + s\\,b$ 会在中点把"
        "噪声缩小到 $1/\\sqrt{2}$，得到暗淡、发灰的图像（见图表）。"),
    "explorer.seed_a": ("Seed a", "种子 a"),
    "explorer.seed_b": ("Seed b", "种子 b"),
    "explorer.points": ("Points", "插值点数"),
    "explorer.interp_running": ("Sampling {n} mixtures…", "正在对 {n} 个混合噪声采样…"),
    "explorer.interp_end": ("seed {seed}", "种子 {seed}"),
    "explorer.interp_note": (
        "The numbers are s. The two ends are the samples of seed a and seed b themselves, "
        "with {steps} steps.",
        "数字是 s。两端就是种子 a 和种子 b 各自的样本（{steps} 步采样）。"),
    "explorer.interp_ideal": (
        "The ideal denoiser can only give back its training flowers, so the path jumps from "
        "one to another instead of morphing: a model that generalises fills the gaps.",
        "理想去噪器只能还原它的训练花朵，因此路径会从一朵跳到另一朵，而不是平滑过渡："
        "具有泛化能力的模型才能填补其间的空隙。"),
    "explorer.norm_title": ("Size of the mixed noise", "混合噪声的大小"),
    "explorer.norm_y": ("‖noise‖ / √D", "‖噪声‖ / √D"),
    "explorer.norm_slerp": ("spherical", "球面插值"),
    "explorer.norm_lerp": ("straight line", "直线插值"),
    # schedules
    "explorer.cross_title": ("Sampling with another schedule", "用另一种调度采样"),
    "explorer.cross_intro": (
        "The network is told only the noise variance of its input, never t or the schedule, "
        "so any schedule can drive it: at each step the sampler asks it to remove so much "
        "noise. Below, the same noises sampled with the model's own schedule and with another "
        "one. A trained network only knows the variances it met in training; the chart shows "
        "which ones each schedule asks about.",
        "网络只被告知输入的噪声方差，从不知道 t 或调度，因此任何调度都可以驱动它：采样器在每一步"
        "要求它去除一定量的噪声。下面用模型自己的调度和另一种调度对同一组噪声采样。训练好的网络"
        "只了解训练中见过的方差；图表显示每种调度会询问哪些方差。"),
    "explorer.other": ("Other schedule", "另一种调度"),
    "explorer.own_row": ("Its own schedule: {name}", "模型自己的调度：{name}"),
    "explorer.other_row": ("Another schedule: {name}", "另一种调度：{name}"),
    "explorer.same_schedule": ("That is the model's own schedule: pick another one to compare.",
                               "这就是模型自己的调度：请选择另一种来比较。"),
    "explorer.cross_running": ("Sampling with both schedules…", "正在用两种调度采样…"),
    "explorer.cross_diff": ("Mean pixel difference between the two rows: {d:.3f} (0 = the same "
                            "pictures).",
                            "两行之间的平均像素差：{d:.3f}（0 表示图像相同）。"),
    "explorer.variance_title": ("Noise variance asked about at each step",
                                "每一步询问的噪声方差"),
    "explorer.variance_x": ("step", "步"),
    "explorer.variance_y": ("noise variance 1 − ᾱ", "噪声方差 1 − ᾱ"),
    "explorer.trained_band": ("seen in training", "训练中见过的"),
    "explorer.cross_keras": (
        "This model was trained on noise variances from {lo:.3f} to {hi:.3f} (the shaded "
        "band). Steps outside it ask the network about noise levels it never saw.",
        "该模型训练时见过的噪声方差范围是 {lo:.3f} 到 {hi:.3f}（阴影带）。落在带外的步骤会"
        "询问网络它从未见过的噪声水平。"),
    "explorer.cross_ideal": (
        "The ideal denoiser is exact at every noise level, so any schedule gives a good "
        "sample; a trained network is only as good as its training range.",
        "理想去噪器在每个噪声水平上都是精确的，因此任何调度都能得到好的样本；"
        "训练出的网络只在其训练范围内可靠。"),
}
