"""Strings of the model picker (lab/models.py)."""

STRINGS: dict[str, tuple[str, str]] = {
    "models.pick": ("Model", "模型"),
    "models.pick_help": (
        "The denoiser the sampling pages use. The ideal denoiser needs no training: it is the "
        "exact best guess of x₀ over its small training set, so it can only give those images back.",
        "采样页面使用的去噪器。理想去噪器无需训练：它是对其小训练集中 x₀ 的精确最优估计，"
        "因此只能还原这些图像。"),
    "models.pretrained": ("Pretrained flowers (32 px)", "预训练花朵模型（32 px）"),
    "models.session": ("Trained here: {name}", "本次训练：{name}"),
    "models.uploaded": ("Uploaded: {name}", "已上传：{name}"),
    "models.ideal": ("Ideal denoiser over {n} flowers", "基于 {n} 朵花的理想去噪器"),
    "models.upload_title": ("Upload a model", "上传模型"),
    "models.upload": ("Model bundle (.zip)", "模型包（.zip）"),
    "models.upload_help": ("A .zip downloaded from this lab's training page or made by "
                           "python -m core.train.",
                           "从本实验室训练页面下载的 .zip，或由 python -m core.train 生成的模型包。"),
    "models.checking": ("Checking **{name}**…", "正在检查 **{name}**…"),
    "models.upload_ok": ("**{name}** loaded and selected.", "**{name}** 已加载并选中。"),
    "models.error.not_bundle": ("**{name}** is not a model bundle of this lab. The previous "
                                "model stays selected.",
                                "**{name}** 不是本实验室的模型包。仍使用之前的模型。"),
    "models.error.corrupt": ("**{name}** is damaged and cannot be loaded. The previous model "
                             "stays selected.",
                             "**{name}** 已损坏，无法加载。仍使用之前的模型。"),
    "models.error.wrong_architecture": ("**{name}** holds a network this lab cannot build. The "
                                        "previous model stays selected.",
                                        "**{name}** 中的网络结构无法构建。仍使用之前的模型。"),
    "models.error.wrong_image_size": ("**{name}** was trained at another image size than "
                                      "expected. The previous model stays selected.",
                                      "**{name}** 的训练图像尺寸与预期不符。仍使用之前的模型。"),
    "models.error.version": ("**{name}** was made by a newer version of the lab. The previous "
                             "model stays selected.",
                             "**{name}** 由更新版本的实验室生成。仍使用之前的模型。"),
    "models.error.too_large": ("**{name}** is too large to be a model bundle. The previous "
                               "model stays selected.",
                               "**{name}** 太大，不像是模型包。仍使用之前的模型。"),
}
