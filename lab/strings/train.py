"""Strings of the Train live page (app_pages/train.py)."""

STRINGS: dict[str, tuple[str, str]] = {
    "train.title": ("Train live: watch a diffusion model learn", "实时训练：看着扩散模型学习"),
    "train.intro": (
        "Train a small denoiser here, on this machine, and watch it learn: the loss falls "
        "below the line of a network that predicts zeros, and the images it makes from the "
        "same fixed noise turn from blobs into flowers. A few minutes on a laptop are enough "
        "for the tiny network at 32 px.",
        "在这台电脑上训练一个小型去噪网络，并实时观察它的学习过程：损失会降到“预测全零”网络的基线以下，"
        "用同一份固定噪声生成的图像会从色块逐渐变成花朵。对 32 像素的微型网络，笔记本电脑上训练几分钟就够了。"),
    # data
    "train.data": ("Training images", "训练图像"),
    "train.source": ("Images", "图像来源"),
    "train.source.procedural": ("Procedural flowers", "程序生成的花朵"),
    "train.source.upload": ("My own images", "我自己的图像"),
    "train.count": ("How many flowers", "花朵数量"),
    "train.count_help": ("Procedural flowers are drawn by a small program: as many as you want, "
                         "in a few seconds.",
                         "程序生成的花朵由一个小程序绘制：想要多少都可以，几秒钟即可生成。"),
    "train.upload": ("Images, or a .zip of images", "图像，或图像的 .zip 压缩包"),
    "train.upload_help": ("PNG, JPEG or WebP files, or one zip of them (at most {max_files} "
                          "images). Each is cropped to a centred square and resized.",
                          "PNG、JPEG 或 WebP 文件，或它们的一个 zip 压缩包（最多 {max_files} 张）。"
                          "每张图像都会被裁剪为居中的正方形并缩放。"),
    "train.no_upload": ("Upload images (or a zip of them) to train on them.",
                        "上传图像（或其 zip 压缩包）即可用它们训练。"),
    "train.preview": ("{n} images, {size}×{size} px. The first {shown}:",
                      "共 {n} 张图像，{size}×{size} 像素。前 {shown} 张："),
    "train.upload_ok": ("Using **{n}** images from your upload.", "正在使用上传中的 **{n}** 张图像。"),
    "train.upload_problems": ("Some files were left out: {details}. The good images are used.",
                              "部分文件被跳过：{details}。其余正常的图像照常使用。"),
    "train.upload_none": ("None of the uploaded files is an image this lab can use.",
                          "上传的文件中没有本实验室可以使用的图像。"),
    "train.skip.not_images": ("{n} not images", "{n} 个不是图像"),
    "train.skip.unsafe": ("{n} zip entries refused as unsafe (a path outside the folder, "
                          "or a link)",
                          "{n} 个 zip 条目因不安全而被拒绝（路径指向文件夹之外，或是链接）"),
    "train.skip.failed": ("{n} damaged or too large ({names})", "{n} 个已损坏或过大（{names}）"),
    "train.refused.bad_zip": ("**{name}** is not a readable zip file",
                              "**{name}** 不是可读取的 zip 文件"),
    "train.refused.too_many": ("**{name}** holds more than {limit} files",
                               "**{name}** 中的文件超过 {limit} 个"),
    "train.refused.too_large": ("**{name}** unpacks to more than {limit} MB",
                                "**{name}** 解压后超过 {limit} MB"),
    # settings
    "train.settings": ("Settings", "设置"),
    "train.size": ("Image size", "图像尺寸"),
    "train.preset": ("Network", "网络"),
    "train.preset.tiny": ("Tiny (0.65 M parameters, fast)", "微型（65 万参数，快）"),
    "train.preset.small": ("Small", "小型"),
    "train.preset.book": ("The book's (1.95 M parameters, slow on a CPU)",
                          "书中的网络（195 万参数，CPU 上较慢）"),
    "train.schedule": ("Noise schedule", "噪声调度"),
    "train.loss": ("Loss", "损失函数"),
    "train.loss.mae": ("MAE (the book)", "MAE（书中所用）"),
    "train.loss.mse": ("MSE (squared error)", "MSE（平方误差）"),
    "train.prediction": ("The network predicts", "网络预测"),
    "train.prediction.eps": ("ε, the noise (the book)", "ε，即噪声（书中所用）"),
    "train.prediction.v": ("v = √ᾱ·ε − √(1−ᾱ)·x₀", "v = √ᾱ·ε − √(1−ᾱ)·x₀（速度）"),
    "train.lr": ("Learning rate", "学习率"),
    "train.batch": ("Batch size", "批大小"),
    "train.ema": ("EMA decay", "EMA 衰减率"),
    "train.ema_help": ("The images are made by an exponential moving average of the weights. "
                       "Its decay warms up as min(decay, (1+n)/(10+n)) so short runs sample well.",
                       "图像由权重的指数移动平均（EMA）生成。其衰减率按 min(衰减率, (1+n)/(10+n)) "
                       "逐步升高，因此短时间的训练也能生成不错的图像。"),
    "train.budget": ("Budget", "训练预算"),
    "train.budget.minutes": ("Minutes", "分钟"),
    "train.budget.steps": ("Steps", "步数"),
    "train.minutes": ("Minutes of training", "训练分钟数"),
    "train.steps": ("Training steps", "训练步数"),
    # controls
    "train.start": ("Start training", "开始训练"),
    "train.pause": ("Pause", "暂停"),
    "train.resume": ("Resume", "继续"),
    "train.stop": ("Stop", "停止"),
    "train.new_run": ("New run", "新的训练"),
    "train.one_run": ("One run at a time per session: stop this one to start another.",
                      "每个会话同时只能进行一次训练：停止当前训练后才能开始新的。"),
    "train.need_images": ("Upload some images first.", "请先上传一些图像。"),
    "train.queued": ("The server is busy with other runs: yours is number {position} in the "
                     "queue and starts by itself. Keep this tab open.",
                     "服务器正在进行其他训练：你的训练排在队列第 {position} 位，轮到时会自动开始。"
                     "请保持此标签页打开。"),
    "train.starting": ("Starting the worker and building the network…",
                       "正在启动训练进程并构建网络……"),
    "train.paused": ("Paused at step {step}. Resume to continue.",
                     "已在第 {step} 步暂停。点击“继续”以继续训练。"),
    "train.stopping": ("Stopping after the current step…", "将在当前步完成后停止……"),
    # live
    "train.live": ("Live", "实时"),
    "train.progress": ("Step {step} · {ips} images/s · about {eta} s left",
                       "第 {step} 步 · 每秒 {ips} 张图像 · 约剩 {eta} 秒"),
    "train.progress_no_eta": ("Step {step} · {ips} images/s", "第 {step} 步 · 每秒 {ips} 张图像"),
    "train.chart_loss": ("Loss", "损失"),
    "train.chart_raw": ("training loss", "训练损失"),
    "train.chart_smooth": ("smoothed", "平滑后"),
    "train.chart_val": ("validation loss", "验证损失"),
    "train.chart_baseline": ("predict zero: {value}", "预测全零：{value}"),
    "train.chart_step": ("step", "步数"),
    "train.baseline_note": (
        "The dashed line is the loss of a network that always outputs zeros ({value}). A loss "
        "stuck there means nothing is being learned.",
        "虚线是始终输出零的网络的损失（{value}）。如果损失停在这条线附近，说明网络什么都没学到。"),
    "train.chart_bins": ("Loss per noise level over time", "各噪声水平的损失随时间变化"),
    "train.chart_bin_axis": ("noise level (0 = least noise)", "噪声水平（0 = 噪声最少）"),
    "train.bins_note": ("Each row is one tenth of the noise levels. Low noise is the hard part "
                        "for ε-prediction: the noise is tiny and hard to see.",
                        "每一行代表十分之一的噪声水平。对 ε 预测来说，低噪声最难：噪声很小，很难看出来。"),
    "train.snapshots": ("Images from the same fixed noise", "来自同一份固定噪声的图像"),
    "train.snapshot_step": ("Snapshot", "快照"),
    "train.snapshot_caption": ("Step {step}", "第 {step} 步"),
    "train.no_snapshot": ("The first snapshot comes after step {every}.",
                          "第一张快照将在第 {every} 步之后出现。"),
    "train.ema_state": ("EMA decay at step {step}: **{decay}** (target {target}). The sampling "
                        "weights are an average over about the last {window} steps.",
                        "第 {step} 步的 EMA 衰减率：**{decay}**（目标 {target}）。采样所用的权重"
                        "约为最近 {window} 步的平均。"),
    # end
    "train.done.budget": ("Finished: the budget was reached after {steps} steps ({seconds} s).",
                          "已完成：经过 {steps} 步（{seconds} 秒）达到训练预算。"),
    "train.done.epochs": ("Finished after {steps} steps ({seconds} s).",
                          "已完成：共 {steps} 步（{seconds} 秒）。"),
    "train.done.stopped": ("Stopped at step {steps} ({seconds} s). The weights so far are kept.",
                           "已在第 {steps} 步停止（{seconds} 秒）。目前为止的权重已保留。"),
    "train.done.diverged": ("The loss became NaN at step {steps}; the last good weights were "
                            "kept. Lower the learning rate and start again.",
                            "损失在第 {steps} 步变成了 NaN；已保留最后一组正常的权重。"
                            "请降低学习率后重新开始。"),
    "train.failed": ("The training worker failed: {detail}", "训练进程出错：{detail}"),
    "train.in_picker": ("**{name}** is now in the model picker (sidebar) of the sampling pages.",
                        "**{name}** 已加入采样页面侧边栏的模型选择器。"),
    "train.download": ("Download the model (.zip)", "下载模型（.zip）"),
    "train.download_help": ("A bundle any Diffusion Lab can open: upload it in the model picker.",
                            "任何扩散实验室都能打开的模型包：在模型选择器中上传即可。"),
    "train.further_note": ("Training further from this model is not available yet: start a new "
                           "run with a larger budget.",
                           "暂时还不能在此模型基础上继续训练：请用更大的预算开始一次新的训练。"),
}
