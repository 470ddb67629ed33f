"""Strings of the home page (app_pages/home.py)."""

STRINGS: dict[str, tuple[str, str]] = {
    "home.title": ("Diffusion Lab", "扩散实验室"),
    "home.tagline": (
        "How a denoising diffusion model turns pure noise into a flower, taken apart piece by "
        "piece (chapter 8 of *Generative Deep Learning*, 2nd ed.).",
        "去噪扩散模型如何把纯噪声变成一朵花：逐个部件拆开来看"
        "（《生成式深度学习》第 2 版第 8 章）。"),
    # the picture: forward above, reverse below
    "home.picture_title": ("Two directions", "两个方向"),
    "home.forward_label": ("**Forward process**: from a flower x₀, add Gaussian noise, a "
                           "little at each step, until x₁₀₀₀ is pure noise. A fixed formula: "
                           "nothing to learn.",
                           "**前向过程**：从一朵花 x₀ 出发，每一步加入一点高斯噪声，直到 "
                           "x₁₀₀₀ 成为纯噪声。这是固定的公式，无需学习。"),
    "home.reverse_label": ("**Reverse process**: from fresh noise x₁₀₀₀ ~ N(0, I), remove a "
                           "little noise at each step until a new flower x₀ appears. A network "
                           "learns to predict the noise: this is how new images are made.",
                           "**反向过程**：从全新的噪声 x₁₀₀₀ ~ N(0, I) 出发，每一步去掉一点噪声，"
                           "直到出现一朵新的花 x₀。网络学习预测噪声：新图像就是这样生成的。"),
    "home.picture_note": (
        "Real arrays, computed when this page opened: a built-in flower noised with the "
        "book's offset-cosine schedule (T = 1,000), and 20 DDIM steps of the *ideal* "
        "denoiser of 100 built-in flowers. The ideal denoiser needs no training, but it can "
        "only give back flowers it was shown; a trained network invents new ones (below).",
        "真实数组，在打开本页时计算：一朵内置花朵按书中的偏移余弦调度（T = 1,000）加噪；"
        "反向过程是基于 100 朵内置花朵的*理想*去噪器运行 20 步 DDIM。理想去噪器无需训练，"
        "但只能还原它见过的花；训练好的网络则能创造新花（见下方）。"),
    # generate
    "home.generate_title": ("Make flowers", "从噪声到花朵"),
    "home.generate_intro": (
        "The pretrained network of this lab (a small U-Net, 32 × 32 px) starts from 16 "
        "fresh noise images and denoises them in 20 steps, as in the book. Every click "
        "draws new noise.",
        "本实验室的预训练网络（一个小型 U-Net，32 × 32 像素）从 16 幅全新的噪声图像出发，"
        "像书中一样用 20 步去噪。每次点击都会抽取新的噪声。"),
    "home.generate": ("Generate flowers", "生成花朵"),
    "home.generating": ("Denoising 16 noise images…", "正在对 16 幅噪声图像去噪…"),
    "home.noise_caption": ("16 noise images x₁₀₀₀ (seed {seed}): the button turns them "
                           "into flowers.",
                           "16 幅噪声图像 x₁₀₀₀（种子 {seed}）：点击按钮把它们变成花朵。"),
    "home.grid_caption": ("16 flowers denoised from noise seed {seed}",
                          "由噪声种子 {seed} 去噪得到的 16 朵花"),
    "home.timing": ("Made in **{seconds} s** (20 denoising steps).",
                    "用时 **{seconds} 秒**（20 步去噪）。"),
    "home.timing_load": ("Loading TensorFlow and the model took {seconds} s more, once per "
                         "server.",
                         "加载 TensorFlow 和模型另用了 {seconds} 秒（每次启动服务器只需一次）。"),
    "home.model_error": ("The pretrained model cannot be loaded: {error}",
                         "无法加载预训练模型：{error}"),
    # cards
    "home.pages_title": ("Explore", "探索"),
    "home.card.forward": (
        "Slide t and watch an image dissolve into noise, with the equation filled in with "
        "today's numbers.",
        "拖动 t，看图像逐渐溶解为噪声，公式中填入当前的实际数值。"),
    "home.card.schedules": (
        "Linear, cosine and offset cosine side by side: how fast each one destroys the "
        "signal, and a pitfall in the book's code.",
        "线性、余弦与偏移余弦并排对比：各自破坏信号的速度，以及书中代码的一个陷阱。"),
    "home.card.reverse": (
        "Step through sampling: at each step see the noise the network predicts, its guess "
        "of the clean image, and the next x.",
        "逐步查看采样：每一步网络预测的噪声、它对干净图像的估计，以及下一步的 x。"),
    "home.card.explorer": (
        "The same noise with 1 to 100 steps, and smooth walks between two noises "
        "(spherical interpolation).",
        "同一噪声用 1 到 100 步采样的结果，以及两个噪声之间的平滑过渡（球面插值）。"),
    "home.card.anatomy": (
        "Inside the U-Net: its layers, its skip connections and the sinusoidal embedding "
        "that tells it the noise level.",
        "U-Net 内部：各层结构、跳跃连接，以及告诉网络噪声水平的正弦嵌入。"),
}
