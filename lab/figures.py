"""Plotly figure builders: pure functions from arrays (and label text) to figures.

They know nothing of Streamlit or of the language: pages pass the translated
labels in. That keeps them testable without a browser.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.schedules import Schedule
from lab.images import data_uri

# One colour per schedule everywhere in the lab (Okabe-Ito, colour-blind safe).
SCHEDULE_COLORS = {
    "linear": "#0072B2",
    "scaled_linear": "#56B4E9",
    "cosine": "#D55E00",
    "offset_cosine": "#009E73",
    "sigmoid": "#CC79A7",
}
NORMAL_COLOR = "#444444"
X0_COLOR = "#BBBBBB"
XT_COLOR = "#3b7a78"
CHAIN_COLOR = "#D55E00"
HIST_RANGE = (-4.0, 4.0)
HIST_BINS = 64
_NORMAL_X = np.linspace(*HIST_RANGE, 161)
_NORMAL_PDF = np.exp(-0.5 * _NORMAL_X**2) / math.sqrt(2 * math.pi)

def _density(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts, edges = np.histogram(values, bins=HIST_BINS, range=HIST_RANGE, density=True)
    return (edges[:-1] + edges[1:]) / 2, counts


def pixel_histogram(series: dict[str, np.ndarray], normal_label: str, title: str,
                    x_label: str, colors: list[str] | None = None) -> dict:
    """Density histograms of pixel values (one bar trace per named series)
    over the N(0, 1) density they drift to. Returns a plain figure spec (a dict
    st.plotly_chart takes as is): this chart is redrawn on every move of the t
    slider, and Plotly's object layer (templates, update_layout) cost ~10 ms more."""
    colors = colors or [X0_COLOR, XT_COLOR, CHAIN_COLOR]
    bar_width = (HIST_RANGE[1] - HIST_RANGE[0]) / HIST_BINS
    data = []
    for (name, values), color in zip(series.items(), colors):
        x, y = _density(np.asarray(values).ravel())
        data.append(dict(type="bar", x=x, y=y, name=name, width=bar_width, opacity=0.6,
                         marker=dict(color=color)))
    data.append(dict(type="scatter", x=_NORMAL_X, y=_NORMAL_PDF, mode="lines",
                     name=normal_label, line=dict(color=NORMAL_COLOR, dash="dash", width=2)))
    # The tails are empty, so the legend sits inside the plot, top right.
    layout = dict(title=dict(text=title), barmode="overlay", height=300,
                  xaxis=dict(title=dict(text=x_label), range=list(HIST_RANGE)),
                  margin=dict(l=10, r=10, t=40, b=10),
                  legend=dict(x=0.99, xanchor="right", y=0.98, yanchor="top",
                              bgcolor="rgba(255,255,255,0.6)"))
    return dict(data=data, layout=layout)


def schedule_curves(schedules: dict[str, Schedule], titles: list[str], x_label: str) -> go.Figure:
    """Four panels against t/T: alpha_bar, 1 - alpha_bar, beta (log axis), log-SNR."""
    fig = make_subplots(rows=2, cols=2, subplot_titles=titles, horizontal_spacing=0.08,
                        vertical_spacing=0.14)
    for label, sched in schedules.items():
        x = np.arange(1, sched.T + 1) / sched.T
        color = SCHEDULE_COLORS.get(sched.name, None)
        panels = [sched.alphas_cumprod, 1.0 - sched.alphas_cumprod, sched.betas, sched.log_snr]
        for k, y in enumerate(panels):
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=label, legendgroup=label,
                                     showlegend=k == 0, line=dict(color=color, width=2)),
                          row=k // 2 + 1, col=k % 2 + 1)
    fig.update_yaxes(type="log", row=2, col=1)
    fig.update_xaxes(range=[0, 1.0], tick0=0, dtick=0.2)
    fig.update_xaxes(title_text=x_label, row=2)
    fig.update_layout(height=600, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", x=0, y=-0.12, yanchor="top"))
    return fig


def pitfall_p1(t_full: np.ndarray, alpha_bar_correct: np.ndarray,
               t_grid: np.ndarray, alpha_bar_book_grid: np.ndarray,
               t_batch: np.ndarray, alpha_bar_book_batch: np.ndarray,
               names: list[str], title: str, x_label: str, y_label: str) -> go.Figure:
    """The linear schedule looked up correctly vs computed the book's way."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=t_full, y=alpha_bar_correct, mode="lines", name=names[0],
                             line=dict(color=SCHEDULE_COLORS["linear"], width=3)))
    fig.add_trace(go.Scatter(x=t_grid, y=alpha_bar_book_grid, mode="lines+markers",
                             name=names[1], line=dict(color="#E69F00", width=2)))
    fig.add_trace(go.Scatter(x=t_batch, y=alpha_bar_book_batch, mode="markers", name=names[2],
                             marker=dict(color="#CC79A7", size=7, symbol="x")))
    # Small t keeps alpha_bar near 1 in every version: the bottom left is free.
    fig.update_layout(title=title, height=380, xaxis_title=x_label, yaxis_title=y_label,
                      margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(x=0.01, y=0.02, yanchor="bottom",
                                  bgcolor="rgba(255,255,255,0.7)"))
    fig.update_yaxes(range=[-0.02, 1.02])
    return fig


def noising_animation(frames: list[np.ndarray], steps: list[int], play: str, pause: str,
                      step_label: str) -> go.Figure:
    """A client-side animation of x_t over t: Plotly frames of PNG images, so
    playing it needs no round trip to the server."""
    uris = [data_uri(f) for f in frames]
    h, w = frames[0].shape[:2]

    def image(uri):
        return go.Image(source=uri, x0=0, dx=1, y0=0, dy=1, hoverinfo="skip")

    fig = go.Figure(data=[image(uris[0])],
                    frames=[go.Frame(data=[image(u)], name=str(s)) for u, s in zip(uris, steps)])
    slider_steps = [dict(method="animate", label=str(s),
                         args=[[str(s)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                              transition=dict(duration=0))]) for s in steps]
    # Picture on top; below it, the buttons on the left and the slider beside them.
    fig.update_layout(
        height=480, margin=dict(l=10, r=10, t=10, b=90),
        xaxis=dict(visible=False, range=[0, w], constrain="domain"),
        yaxis=dict(visible=False, range=[h, 0], scaleanchor="x"),
        updatemenus=[dict(type="buttons", direction="left", x=0, y=0, xanchor="left",
                          yanchor="top", pad=dict(t=36), showactive=False, buttons=[
                              dict(label="▶ " + play, method="animate",
                                   args=[None, dict(frame=dict(duration=120, redraw=True),
                                                    fromcurrent=True, transition=dict(duration=0))]),
                              dict(label="❚❚ " + pause, method="animate",
                                   args=[[None], dict(mode="immediate",
                                                      frame=dict(duration=0, redraw=False))]),
                          ])],
        sliders=[dict(active=0, steps=slider_steps, x=0.34, len=0.62, y=0, yanchor="top",
                      currentvalue=dict(prefix=step_label + " = ", xanchor="left"),
                      pad=dict(t=10, r=10))],
    )
    return fig
