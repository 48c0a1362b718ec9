"""Figures saved by the report's helper process are the files this process would write.

Oracle: the same report drawn with every figure saved in the test's own process (the
helper off): every figure, report.md and report.html must be the same bytes. Also: a
helper that cannot write a figure is one OutputError naming the file, and a helper that
dies leaves its figure to this process.
"""

from __future__ import annotations

import shutil

import pytest

from jaxcalc.errors import OutputError
from jaxcalc.pipeline import load_config, run_experiment
from jaxcalc.pipeline.report import build_report, render

CONFIG = """
name = "render"
seed = 5
dtype = "float32"

[starts]
count = 4

[run]
steps = 20
record_every = 5
target = 1e-6

[[objectives]]
name = "booth"

[[optimizers]]
name = "sgd"
learning_rate = 0.05

[[optimizers]]
name = "adam"
learning_rate = 0.1
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("render")
    (folder / "render.toml").write_text(CONFIG)
    config = load_config(folder / "render.toml")
    return run_experiment(config, folder / "out", display="off", report=False)


def _files(folder):
    """The report's PNGs and text (an SVG twin differs from any other save of it:
    matplotlib names its clip paths from a random salt)."""
    names = sorted(p.name for p in (folder / "figures").glob("*.png"))
    return {n: (folder / "figures" / n).read_bytes() for n in names} | {
        n: (folder / n).read_bytes() for n in ("report.md", "report.html")
    }


@pytest.mark.slow  # a run and two reports: about 10 s of CPU
def test_helper_writes_the_same_files_as_this_process(results, tmp_path, monkeypatch):
    alone, helped = tmp_path / "alone", tmp_path / "helped"
    shutil.copytree(results, alone)
    shutil.copytree(results, helped)
    build_report(alone)  # the suite's default: every figure saved here
    started = []
    monkeypatch.delenv("JAXCALC_NO_REPORT_HELPER", raising=False)
    monkeypatch.setattr(render, "HELPER_MIN_FIGURES", 0)
    monkeypatch.setattr(render, "_cores", lambda: 2)
    start = render.FigureSaver._start
    monkeypatch.setattr(
        render.FigureSaver, "_start", lambda self: (start(self), started.append(self._helper))
    )
    build_report(helped)
    assert started and started[0] is not None  # the helper ran
    assert started[0].returncode == 0  # and stopped
    expected = _files(alone)
    assert len([n for n in expected if n.endswith(".png")]) >= 5
    assert _files(helped) == expected


def test_a_figure_the_helper_cannot_write_is_one_error_naming_it(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from jaxcalc import plotting

    monkeypatch.delenv("JAXCALC_NO_REPORT_HELPER", raising=False)
    monkeypatch.setattr(render, "_cores", lambda: 2)
    target = tmp_path / "missing" / "f.png"  # a folder the helper will not find
    outputs = [(target, {"format": "png", "dpi": 50})]
    monkeypatch.setattr(plotting, "figure_outputs", lambda path, also=(), tight=True: outputs)
    saver = render.FigureSaver(render.HELPER_MIN_FIGURES)
    assert saver._helper is not None
    fig = Figure()
    fig.subplots().plot([0, 1], [1, 0])
    assert saver.save(fig, target) == target  # handed to the helper
    with pytest.raises(OutputError, match=r"missing/f\.png"):
        saver.finish()
    assert saver._helper is None and not target.parent.exists()


def test_a_helper_that_dies_leaves_its_figure_to_this_process(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    monkeypatch.delenv("JAXCALC_NO_REPORT_HELPER", raising=False)
    monkeypatch.setattr(render, "_cores", lambda: 2)
    saver = render.FigureSaver(render.HELPER_MIN_FIGURES)
    saver._helper.kill()
    saver._helper.wait()
    fig = Figure()
    fig.subplots().plot([0, 1], [1, 0])
    saver.save(fig, tmp_path / "f.png")
    saver.finish()
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")


def test_a_helper_started_early_is_taken_by_the_report_or_stopped(monkeypatch):
    """A run starts the helper while it computes: the report takes that process (and
    writes the same files as alone); a helper no report takes ends when stopped."""
    monkeypatch.delenv("JAXCALC_NO_REPORT_HELPER", raising=False)
    monkeypatch.setattr(render, "_cores", lambda: 2)
    render.start_helper_early()
    early = render._early
    assert early is not None and early.poll() is None
    saver = render.FigureSaver(render.HELPER_MIN_FIGURES)
    assert saver._helper is early and render._early is None
    saver.finish()
    assert early.returncode == 0

    render.start_helper_early()
    unused = render._early
    render.stop_early_helper()
    assert render._early is None and unused.returncode == 0

    render.start_helper_early()  # a report too small for a helper stops it too
    unused = render._early
    saver = render.FigureSaver(render.HELPER_MIN_FIGURES - 1)
    assert saver._helper is None and unused.returncode == 0

    monkeypatch.setenv("JAXCALC_NO_REPORT_HELPER", "1")  # the suite's default: none
    render.start_helper_early()
    assert render._early is None


def test_the_helper_takes_a_second_figure_while_it_renders_the_first(tmp_path, monkeypatch):
    """Figures go to the helper until it holds HELPER_QUEUE of them (a sender thread
    writes them into its pipe, this process goes on at once); each is the file this
    process would write (oracle: plotting.save_figure here)."""
    from matplotlib.figure import Figure

    from jaxcalc import plotting

    monkeypatch.delenv("JAXCALC_NO_REPORT_HELPER", raising=False)
    monkeypatch.setattr(render, "_cores", lambda: 2)
    here: list = []
    real = render._render
    monkeypatch.setattr(
        render, "_render", lambda fig, outputs: (here.append(fig), real(fig, outputs))
    )

    def figure(k: int):
        fig = Figure(figsize=(3, 2))
        fig.subplots().plot(range(50), [(i * k) % 7 for i in range(50)])
        return fig

    (tmp_path / "helped").mkdir()
    (tmp_path / "alone").mkdir()
    saver = render.FigureSaver(render.HELPER_MIN_FIGURES)
    assert saver._helper is not None and render.HELPER_QUEUE == 2
    for k in range(render.HELPER_QUEUE):
        saver.save(figure(k), tmp_path / "helped" / f"f{k}.png")
    assert not here  # both handed over, none rendered here
    saver.save(figure(2), tmp_path / "helped" / "f2.png")  # here, or a third once one is done
    saver.finish()
    assert saver._helper is None and saver._sender is None
    for k in range(3):
        plotting.save_figure(figure(k), tmp_path / "alone" / f"f{k}.png")
        alone = (tmp_path / "alone" / f"f{k}.png").read_bytes()
        assert (tmp_path / "helped" / f"f{k}.png").read_bytes() == alone, k
