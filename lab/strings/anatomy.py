"""Strings of the Model anatomy page (app_pages/anatomy.py)."""

STRINGS: dict[str, tuple[str, str]] = {
    "anatomy.title": ("Model anatomy: inside the U-Net", "模型解剖：U-Net 的内部"),
    "anatomy.intro": (
        "The network of a diffusion model takes two inputs, the noisy image $x_t$ and the "
        "**variance** of its noise, and predicts the noise ε. It is a U-Net: the image is "
        "shrunk step by step (down path), processed at the smallest size (bottleneck) and "
        "grown back (up path), while skip connections carry the fine detail of each size "
        "straight across the U.",
        "扩散模型的网络有两个输入：加噪图像 $x_t$ 和其噪声的**方差**，输出是预测的噪声 ε。"
        "它是一个 U-Net：图像被逐级缩小（下采样路径），在最小尺寸上处理（瓶颈），再逐级放大"
        "（上采样路径）；跳跃连接把每个尺寸上的细节直接送到 U 的另一侧。"),
    # architecture
    "anatomy.arch_title": ("The architecture", "网络结构"),
    "anatomy.net": ("Network", "网络"),
    "anatomy.net.model": ("the chosen model's", "所选模型的网络"),
    "anatomy.net.book": ("the book's (preset “book”)", "书中的网络（预设 “book”）"),
    "anatomy.net.small": ("preset “small”", "预设 “small”"),
    "anatomy.net.tiny": ("preset “tiny”", "预设 “tiny”"),
    "anatomy.net_help": (
        "Presets are shown at the book's 64×64 pixels; the number of parameters does not "
        "depend on the image size, only the shapes do.",
        "预设按书中的 64×64 像素显示；参数数量与图像尺寸无关，只有各层的形状会变。"),
    "anatomy.ideal_is_formula": (
        "The ideal denoiser is a formula over its training images, not a network: showing "
        "the book's network instead.",
        "理想去噪器是基于其训练图像的一个公式，而不是网络：这里改为显示书中的网络。"),
    "anatomy.showing": ("{net}: {levels} levels of widths {widths}, bottleneck {bottom}, "
                        "{depth} residual blocks per level, at {size}×{size} pixels.",
                        "{net}：{levels} 层，宽度 {widths}，瓶颈 {bottom}，每层 {depth} "
                        "个残差块，图像 {size}×{size} 像素。"),
    "anatomy.building": ("Building the network…", "正在构建网络…"),
    "anatomy.diagram_note": (
        "Box height grows with the number of channels. Each level halves the image with "
        "average pooling on the way down and doubles it with bilinear upsampling on the "
        "way up; the dashed purple arrows are the skip connections, concatenated to the "
        "up path. Hover over a box for its layers and parameters.",
        "方框高度随通道数增加。下采样路径上每一层用平均池化把图像缩小一半，上采样路径上用"
        "双线性插值放大一倍；紫色虚线箭头是跳跃连接，与上采样路径拼接。把鼠标悬停在方框上"
        "可查看其层和参数。"),
    "anatomy.total": ("Parameters", "参数总数"),
    "anatomy.trainable": ("Trainable", "可训练参数"),
    "anatomy.non_trainable": ("BatchNorm statistics", "BatchNorm 统计量"),
    "anatomy.non_trainable_help": (
        "Moving means and variances of the BatchNorm layers: updated during training, but "
        "not by the optimiser.",
        "BatchNorm 层的滑动均值与方差：训练时会更新，但不由优化器更新。"),
    "anatomy.book_total_note": (
        "The book's network has 1,953,507 parameters at any image size: convolutions do not "
        "depend on it.",
        "书中的网络在任何图像尺寸下都有 1,953,507 个参数：卷积与图像尺寸无关。"),
    "anatomy.table_title": ("Every layer", "所有层"),
    "anatomy.col_name": ("layer", "层"),
    "anatomy.col_type": ("type", "类型"),
    "anatomy.col_shape": ("output shape", "输出形状"),
    "anatomy.col_params": ("parameters", "参数"),
    "anatomy.build_error": ("This network cannot be built: {detail}",
                            "无法构建该网络：{detail}"),
    # diagram labels
    "anatomy.d.image": ("noisy<br>image x<sub>t</sub>", "加噪图像 x<sub>t</sub>"),
    "anatomy.d.variance": ("noise<br>variance", "噪声方差"),
    "anatomy.d.variance_hover": ("noise variance = noise rate²: the only hint of t the "
                                 "network gets", "噪声方差 = 噪声率²：网络得到的关于 t 的唯一信息"),
    "anatomy.d.embedding": ("sin/cos<br>embedding", "正弦/余弦<br>嵌入"),
    "anatomy.d.embedding_hover": ("{dims} sines and cosines of the variance, copied to every "
                                  "pixel", "方差的 {dims} 个正弦与余弦值，复制到每个像素"),
    "anatomy.d.stem": ("1×1 conv<br>+ concat", "1×1 卷积<br>+ 拼接"),
    "anatomy.d.stem_hover": ("the image through a 1×1 convolution to {width} channels, next to "
                             "the {dims} embedding channels",
                             "图像经 1×1 卷积变为 {width} 个通道，再与 {dims} 个嵌入通道拼接"),
    "anatomy.d.down": ("down {n}", "下采样 {n}"),
    "anatomy.d.down_hover": ("{depth} residual blocks of {width} channels at {size}, then "
                             "average pooling to {half}",
                             "{depth} 个 {width} 通道的残差块（{size}），然后平均池化到 {half}"),
    "anatomy.d.mid": ("bottleneck", "瓶颈"),
    "anatomy.d.mid_hover": ("{depth} residual blocks of {width} channels at {size}",
                            "{depth} 个 {width} 通道的残差块（{size}）"),
    "anatomy.d.up": ("up {n}", "上采样 {n}"),
    "anatomy.d.up_hover": ("bilinear upsampling from {half} to {size}, then {depth} residual "
                           "blocks of {width} channels, each after a skip is concatenated",
                           "双线性上采样，从 {half} 到 {size}，然后是 {depth} 个 {width} 通道的"
                           "残差块，每个之前先拼接一个跳跃连接"),
    "anatomy.d.output": ("1×1 conv<br>→ ε̂", "1×1 卷积<br>→ ε̂"),
    "anatomy.d.output_hover": ("zero-initialised 1×1 convolution: the predicted noise",
                               "零初始化的 1×1 卷积：预测的噪声"),
    "anatomy.d.skip": ("skip: {depth}×{width} ch", "跳跃：{depth}×{width} 通道"),
    "anatomy.d.ch": ("{n} ch", "{n} 通道"),
    "anatomy.d.params": ("{n} parameters", "{n} 个参数"),
    # embedding
    "anatomy.emb_title": ("The sinusoidal noise embedding", "正弦噪声嵌入"),
    "anatomy.emb_intro": (
        "The network does not get the variance v as one number but as "
        "$[\\sin(2\\pi f_k v), \\cos(2\\pi f_k v)]$ for frequencies $f_k$ spaced evenly in "
        "log scale from 1 to a maximum (the book: 16 frequencies up to 1000, 32 numbers).",
        "网络得到的不是作为单个数字的方差 v，而是 "
        "$[\\sin(2\\pi f_k v), \\cos(2\\pi f_k v)]$，其中频率 $f_k$ 在对数尺度上从 1 "
        "均匀分布到最大值（书中：16 个频率，最高 1000，共 32 个数）。"),
    "anatomy.emb_dims": ("Embedding dimensions", "嵌入维数"),
    "anatomy.emb_freq": ("Highest frequency", "最高频率"),
    "anatomy.emb_chart_title": ("Embedding of the noise variance", "噪声方差的嵌入"),
    "anatomy.emb_x": ("noise variance v", "噪声方差 v"),
    "anatomy.emb_y": ("embedding dimension", "嵌入维度"),
    "anatomy.emb_sin": ("sin", "正弦"),
    "anatomy.emb_cos": ("cos", "余弦"),
    "anatomy.emb_why": (
        "**Why waves?** The slow waves (top of each half) change smoothly over the whole "
        "range, so they tell large noise from small. The fast waves swing many times between "
        "0 and 1, so two variances that differ by 0.001 still get clearly different numbers: "
        "the network can resolve small differences that a single input value would hide. "
        "A sine alone takes each value twice per period; pairing it with the cosine of the "
        "same frequency pins down the angle, so no two variances get the same code.",
        "**为什么用波？** 慢波（每一半的上部）在整个范围内平滑变化，能区分大噪声与小噪声。"
        "快波在 0 到 1 之间振荡很多次，因此相差仅 0.001 的两个方差也会得到明显不同的数值："
        "网络能分辨单个输入值无法体现的细微差别。单独的正弦在每个周期内同一个值会出现两次；"
        "与同频率的余弦配对后角度就被唯一确定，因此不会有两个方差得到相同的编码。"),
    "anatomy.emb_alias": (
        "The fastest rows look like noise because they oscillate faster than the {points} "
        "columns of the chart can show: the network sees each variance exactly.",
        "最快的几行看起来像噪声，是因为它们的振荡比图中 {points} 列所能显示的更快："
        "网络看到的是每个方差的精确值。"),
    # feature maps
    "anatomy.feat_title": ("Feature maps", "特征图"),
    "anatomy.feat_intro": (
        "What a layer computes for a built-in flower noised to a chosen level: the first "
        "{count} channels, each stretched to its own range (dark: low, yellow: high).",
        "某一层对一朵加噪到指定程度的内置花朵的计算结果：显示前 {count} 个通道，"
        "每个通道按自身范围拉伸（深色：低，黄色：高）。"),
    "anatomy.feat_ideal": (
        "The ideal denoiser has no layers and so no feature maps: it is a weighted average of "
        "its training images. Pick a trained model in the sidebar to look inside a network.",
        "理想去噪器没有层，因此没有特征图：它只是其训练图像的加权平均。请在侧边栏选择一个"
        "训练过的模型来查看网络内部。"),
    "anatomy.feat_layer": ("Layer", "层"),
    "anatomy.feat_flower": ("Flower", "花朵"),
    "anatomy.feat_t": ("Noise level t", "噪声程度 t"),
    "anatomy.feat_t_help": ("Time in the model's own schedule: 0 is the cleanest image it was "
                            "trained on, 1 the noisiest.",
                            "模型自身调度中的时间：0 是它训练时见过的最干净的图像，1 是最嘈杂的。"),
    "anatomy.feat_seed": ("Noise seed", "噪声种子"),
    "anatomy.feat_input": ("input x<sub>t</sub>", "输入 x<sub>t</sub>"),
    "anatomy.feat_input_caption": ("x_t at t = {t}: signal rate {signal:.3f}, noise variance "
                                   "{variance:.3f}",
                                   "t = {t} 时的 x_t：信号率 {signal:.3f}，噪声方差 {variance:.3f}"),
    "anatomy.feat_shape": ("**{layer}** outputs {h}×{w} pixels × {c} channels.",
                           "**{layer}** 输出 {h}×{w} 像素 × {c} 个通道。"),
    "anatomy.feat_channel": ("ch {k}", "通道 {k}"),
    "anatomy.feat_vector_title": ("{layer}: one value per channel", "{layer}：每个通道一个值"),
    "anatomy.feat_vector_x": ("channel", "通道"),
    "anatomy.feat_vector_note": (
        "This layer has no picture: the same vector is used at every pixel.",
        "这一层没有空间结构：每个像素都使用同一个向量。"),
    "anatomy.feat_running": ("Running the network…", "正在运行网络…"),
    "anatomy.model_error": ("The model could not be loaded: {detail}", "无法加载模型：{detail}"),
    "anatomy.feat_error": ("The feature maps could not be computed: {detail}",
                           "无法计算特征图：{detail}"),
}
