"""Strings of the Reverse denoising page (app_pages/reverse.py)."""

STRINGS: dict[str, tuple[str, str]] = {
    "reverse.title": ("Reverse denoising: from noise to a flower, step by step",
                      "反向去噪：从噪声到花朵，一步一步"),
    "reverse.intro": (
        "Sampling runs the forward process backwards. At every step the network looks at the "
        "noisy image $x_t$ and predicts the noise ε̂ in it; removing that noise gives its "
        "current guess of the clean image, x̂₀. The sampler then mixes x̂₀ and ε̂ again with the "
        "rates of the next, less noisy step to get $x_{t-1}$. The whole run is computed once: "
        "stepping back and forth below is instant.",
        "采样就是把前向过程倒过来运行。每一步，网络观察带噪图像 $x_t$ 并预测其中的噪声 ε̂；"
        "去掉这部分噪声，就得到它当前对干净图像的估计 x̂₀。随后采样器用下一步（噪声更少）"
        "的比率把 x̂₀ 和 ε̂ 重新混合，得到 $x_{t-1}$。整个过程只计算一次：下面来回单步浏览是即时的。"),
    # settings
    "reverse.settings": ("Sampler settings", "采样器设置"),
    "reverse.sampler": ("Sampler", "采样器"),
    "reverse.sampler.ddim": ("DDIM (the book)", "DDIM（书中所用）"),
    "reverse.sampler.ddpm": ("DDPM (ancestral)", "DDPM（祖先采样）"),
    "reverse.sampler_help": (
        "DDIM remixes x̂₀ and ε̂ with the next step's rates, plus fresh noise scaled by η. "
        "DDPM draws $x_{t-1}$ from the posterior q($x_{t-1}$ | $x_t$, x̂₀): always random.",
        "DDIM 用下一步的比率重新混合 x̂₀ 和 ε̂，并加入按 η 缩放的新噪声。"
        "DDPM 从后验分布 q($x_{t-1}$ | $x_t$, x̂₀) 中抽取 $x_{t-1}$：总是随机的。"),
    "reverse.steps": ("Steps", "步数"),
    "reverse.steps_help": ("How many reverse steps to take. The book uses 20.",
                           "反向步数。书中使用 20 步。"),
    "reverse.eta": ("η (DDIM noise)", "η（DDIM 噪声）"),
    "reverse.eta_help": ("0: deterministic DDIM, the book's sampler. 1: as much fresh noise as "
                         "DDPM adds.",
                         "0：确定性 DDIM，即书中的采样器。1：加入与 DDPM 一样多的新噪声。"),
    "reverse.eta_ddpm": ("η applies to DDIM only: DDPM always adds its own posterior noise.",
                         "η 只对 DDIM 有效：DDPM 总是加入它自己的后验噪声。"),
    "reverse.spacing": ("Timestep spacing", "时间步间隔"),
    "reverse.spacing_help": (
        "Which of the schedule's timesteps the sampler visits. Continuous: t runs from 1 to 0 "
        "in equal steps, as in the book. Trailing starts at the last step T; linspace spreads "
        "the steps from T to 1; leading never visits T, so it starts from noise labelled as "
        "less noisy than it is.",
        "采样器访问调度中的哪些时间步。连续：t 从 1 到 0 等距前进，与书中一致。"
        "Trailing 从最后一步 T 开始；linspace 把步数均匀分布在 T 到 1 之间；"
        "leading 从不访问 T，因此起点的噪声被标记为比实际更少。"),
    "reverse.spacing.continuous": ("Continuous t (the book)", "连续 t（书中所用）"),
    "reverse.spacing.trailing": ("Trailing (from T)", "Trailing（从 T 开始）"),
    "reverse.spacing.linspace": ("Linspace (T to 1)", "Linspace（T 到 1 均匀）"),
    "reverse.spacing.leading": ("Leading (skips T)", "Leading（跳过 T）"),
    "reverse.n": ("Images", "图像数量"),
    "reverse.n_help": ("How many images to denoise at once, each from its own noise.",
                       "同时去噪的图像数量，每张都有自己的噪声。"),
    "reverse.seed_help": ("The same seed always draws the same starting noise (and the same "
                          "fresh noise for η > 0 and DDPM), so a run can be reproduced and shared.",
                          "相同的种子总是抽取相同的初始噪声（以及 η > 0 和 DDPM 的新噪声），"
                          "因此一次采样可以复现和分享。"),
    "reverse.start": ("Start from", "起点"),
    "reverse.start.noise": ("Pure noise", "纯噪声"),
    "reverse.start.flower": ("A built-in flower, noised", "加噪后的内置花朵"),
    "reverse.start_help": (
        "Pure noise generates new images. A flower noised to step t and denoised back shows "
        "what the model keeps of it: little noise changes details, a lot invents a new flower.",
        "从纯噪声出发会生成新图像。把一朵花加噪到第 t 步再去噪，可以看出模型保留了它的哪些部分："
        "噪声少时只改变细节，噪声多时会创造出一朵新花。"),
    "reverse.flower": ("Flower", "花朵"),
    "reverse.start_t": ("Noise it to step t", "加噪到第 t 步"),
    "reverse.start_t_help": ("The forward page's t: 1 is almost clean, T is (almost) pure noise.",
                             "即前向过程页面中的 t：1 几乎是干净的，T 几乎是纯噪声。"),
    # computing
    "reverse.progress": ("Denoising: step {k} of {n}…", "正在去噪：第 {k} 步，共 {n} 步…"),
    "reverse.computed": ("{n} images, {steps} steps, computed once in {seconds} s; stepping "
                         "through them needs no model call.",
                         "{n} 张图像、{steps} 步，一次计算用时 {seconds} 秒；单步浏览无需再调用模型。"),
    "reverse.strided": ("A long run: every step was computed, and {kept} evenly spaced steps of "
                        "{steps} are kept for viewing to save memory.",
                        "运行很长：每一步都已计算，但为节省内存只保留了 {steps} 步中均匀分布的 {kept} 步用于查看。"),
    "reverse.error.too_many_steps": (
        "**{steps} steps do not fit.** Starting at step t = {t}, a table spacing can visit at "
        "most {limit} different timesteps. Choose at most {limit} steps, start from a larger t, "
        "or use the continuous spacing.",
        "**{steps} 步放不下。** 从第 t = {t} 步开始，按表格取时间步最多只能访问 {limit} 个不同的"
        "时间步。请最多选择 {limit} 步、从更大的 t 开始，或改用连续间隔。"),
    "reverse.error.zero_snr": (
        "**This model cannot start here.** Its schedule has zero signal at the first step "
        "(zero terminal SNR) and it predicts the noise ε, so x̂₀ = ($x_t$ − noise rate·ε̂) / "
        "signal rate would divide by zero. Start from a flower at t < T, or use a model "
        "trained with v-prediction.",
        "**该模型无法从这里开始。** 它的调度在第一步没有任何信号（终点信噪比为零），而它预测的是"
        "噪声 ε，因此 x̂₀ = ($x_t$ − 噪声率·ε̂) / 信号率 会除以零。请从 t < T 的花朵开始，"
        "或使用以 v 预测训练的模型。"),
    "reverse.error.not_finite": (
        "**The model returned numbers that are not finite** (NaN or ∞) at step {step}. The "
        "model may be broken or untrained for this schedule: try another model or fewer steps.",
        "**模型在第 {step} 步返回了非有限数值**（NaN 或 ∞）。该模型可能已损坏，或未针对此调度"
        "训练：请换一个模型或减少步数。"),
    "reverse.error.bad_start": (
        "**The start step t = {t} is outside 1 to {T}.** Move the slider back into range.",
        "**起始步 t = {t} 超出了 1 到 {T} 的范围。** 请把滑块移回范围内。"),
    "reverse.error.failed": (
        "**Sampling failed with these settings.** Change a setting and try again. Details: {detail}",
        "**使用这些设置采样失败。** 请修改设置后重试。详情：{detail}"),
    # step viewer
    "reverse.viewer": ("Step through the run", "逐步查看"),
    "reverse.first": ("First", "第一步"),
    "reverse.previous": ("Previous", "上一步"),
    "reverse.next": ("Next", "下一步"),
    "reverse.last": ("Last", "最后一步"),
    "reverse.step": ("Step", "步"),
    "reverse.step_help": ("Step k goes from $x_t$ to $x_{t-1}$; moving the slider makes no "
                          "model call.",
                          "第 k 步从 $x_t$ 走到 $x_{t-1}$；移动滑块不会调用模型。"),
    "reverse.image": ("Image shown", "显示的图像"),
    "reverse.step_of": ("Step {k} of {n}", "第 {k} 步，共 {n} 步"),
    "reverse.cap_xt": ("x_t, t = {t}: what the network sees", "x_t，t = {t}：网络看到的"),
    "reverse.cap_eps": ("ε̂: the noise it predicts", "ε̂：它预测的噪声"),
    "reverse.cap_x0": ("x̂₀: its guess of the clean image", "x̂₀：它对干净图像的估计"),
    "reverse.cap_xprev": ("x_t', t' = {t}: the next, less noisy image",
                          "x_t'，t' = {t}：下一张噪声更少的图像"),
    "reverse.equation_note": (
        "t′ is the step this one lands on. Pixels live on the model's scale; the images show "
        "them in [0, 1], clipped. σ is the standard deviation of the fresh noise z added "
        "(0 for deterministic DDIM).",
        "t′ 是这一步到达的时间步。像素位于模型的尺度上；图像显示时映射到 [0, 1] 并截断。"
        "σ 是所加新噪声 z 的标准差（确定性 DDIM 为 0）。"),
    "reverse.all_x0": ("x̂₀ of every image at this step", "本步所有图像的 x̂₀"),
    "reverse.chart_title": ("How x̂₀ settles", "x̂₀ 如何逐渐稳定"),
    "reverse.chart_change": ("change from the previous step", "与上一步相比的变化"),
    "reverse.chart_distance": ("distance to the final image", "与最终图像的距离"),
    "reverse.chart_current": ("this step", "当前步"),
    "reverse.chart_x": ("step", "步"),
    "reverse.chart_note": ("Mean absolute pixel difference in [0, 1], for the image shown.",
                           "显示图像的平均绝对像素差，范围为 [0, 1]。"),
    # animation and downloads
    "reverse.result": ("The result", "结果"),
    "reverse.final_note": (
        "The sample is the last step's x̂₀. With the continuous spacing the last step lands on "
        "t = 0, where the book's offset cosine still keeps some noise (signal rate 0.95), so "
        "the book outputs x̂₀ rather than $x_0$.",
        "样本是最后一步的 x̂₀。使用连续间隔时，最后一步到达 t = 0，而书中的偏移余弦调度在那里"
        "仍保留一些噪声（信号率 0.95），因此书中输出的是 x̂₀ 而不是 $x_0$。"),
    "reverse.animation_title": ("Animation", "动画"),
    "reverse.animation_note": ("$x_t$ of every image, from the start to the result. Plays in your "
                               "browser: no waiting for the server.",
                               "所有图像的 $x_t$，从起点到结果。在浏览器中播放：无需等待服务器。"),
    "reverse.animation_step": ("steps done", "已完成步数"),
    "reverse.download_gif": ("Download the animation (GIF)", "下载动画（GIF）"),
    "reverse.download_png": ("Download the images (PNG)", "下载图像（PNG）"),
    "reverse.gif_help": ("The start and one frame per step (at most 100 steps; longer runs are "
                         "subsampled), with a progress bar: ready for slides.",
                         "起点加每步一帧（最多 100 步，更长的运行会抽样），带进度条：可直接用于幻灯片。"),
}
