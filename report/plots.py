"""The plots of the report, drawn from plain numbers (no results cells in here).

A line is {"label", "mode", "backend" (optional), "points": [(qd, median, min, max)], "style"
(optional)}: its colour says the mode, its line style and marker fill the backend; "style",
matplotlib keywords, overrides both where a line is more than its mode (wal_commit's O_DSYNC
path is a second direct line). Bars carry min-max error
bars; heat maps of direct/buffered ratios use a diverging scale centred on 1.0; outcome maps
(the memory axis's crossover map) colour each square by its decided outcome; several runs'
outcome maps stand side by side, and their direct/buffered ratios share one axis per curve
(`python3 -m report.compare`). matplotlib is
imported inside the functions, by the caller's import_pyplot, so importing this module needs none.
"""

MODE_ORDER = ("buffered", "direct", "dontcache")
MODE_STYLE = {"buffered": ("tab:blue", "o"), "direct": ("tab:orange", "s"), "dontcache": ("tab:green", "^")}
QD_AXIS_LABEL = "queue depth (requests in flight, log2 scale)"
PLOTS_NOTE = ("Plots: points are medians over repetitions; bars span the minimum to the "
              "maximum repetition. Points are nudged sideways slightly so the bars of different "
              "lines do not hide each other.")


def ordered_modes(modes):
    return [m for m in MODE_ORDER if m in modes] + sorted(set(modes) - set(MODE_ORDER))


def line_style(mode, backend=None):
    """Mode -> colour and marker; worker dashed with open markers, sync a lone star."""
    color, marker = MODE_STYLE.get(mode, (None, "D"))
    style = {"color": color, "marker": marker, "linestyle": "-"}
    if backend == "worker":
        style.update(linestyle="--", markerfacecolor="none")
    elif backend == "sync":
        style.update(marker="*", markersize=12, linestyle="none")
    return style


def wants_log_axis(lines, throughput):
    """True when a linear axis would flatten some points into the floor.

    Latency grows with depth by orders of magnitude, so its whole spread decides. Throughput
    stays linear from zero (ratios read as heights) unless the lines differ by more than 10x
    at one depth, as a warm page cache against the device does, which would flatten one line.
    """
    by_depth = {}
    for line in lines:
        for qd, y, _, _ in line["points"]:
            if y:
                by_depth.setdefault(qd, []).append(y)
    if not throughput:
        values = [v for vs in by_depth.values() for v in vs]
        return bool(values) and max(values) / min(values) > 20
    return any(max(vs) / min(vs) > 10 for vs in by_depth.values())


def plot_lines(plt, lines, title, quantity, unit, path, xlabel=QD_AXIS_LABEL, throughput=True,
               legend_title="mode (median; bars: min-max)", hlines=()):
    """Lines of medians with min-max bars against depth on a log2 axis; `hlines` are
    (y, label, mode) reference levels drawn across the whole axis."""
    from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter, NullLocator  # matplotlib is imported by now.
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    depths = sorted({p[0] for line in lines for p in line["points"]})
    for slot, line in enumerate(lines):
        # Nudge each line sideways a little so overlapping error bars stay readable.
        nudge = 2 ** (0.06 * (slot - (len(lines) - 1) / 2))
        points = line["points"]
        ax.errorbar([qd * nudge for qd, _, _, _ in points], [y for _, y, _, _ in points],
                    yerr=[[max(0.0, y - low) for _, y, low, _ in points],
                          [max(0.0, high - y) for _, y, _, high in points]],
                    capsize=4, linewidth=1.5, label=line["label"],
                    **dict(line_style(line["mode"], line.get("backend")), **line.get("style", {})))
    for y, label, mode in hlines:
        ax.axhline(y, color=MODE_STYLE.get(mode, (None,))[0], linestyle=":", linewidth=1.2, label=label)
    ax.set_xscale("log", base=2)
    if depths:
        ax.set_xticks(depths)
        ax.set_xticklabels([str(d) for d in depths])
        ax.set_xlim(min(depths) / 1.5, max(depths) * 1.5)
    ax.xaxis.set_minor_locator(NullLocator())
    log_axis = wants_log_axis(lines, throughput)
    if log_axis:
        ax.set_yscale("log")
        # Ticks at 1, 2, 5 per decade, written as plain numbers: 10^2 alone says too little.
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_minor_formatter(NullFormatter())
    else:
        ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(EngFormatter(sep=""))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{quantity} ({unit}{', log scale' if log_axis else ''})")
    ax.grid(True, alpha=0.3)
    ax.legend(title=legend_title, fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_bars(ax, groups, modes, values):
    """Grouped bars on `ax`: one group per (name, backend) of `groups`, one bar per mode;
    `values` maps (name, backend, mode) to (median, min, max); min-max error bars."""
    width = 0.8 / len(modes)
    for slot, mode in enumerate(modes):
        xs, ys, low, high = [], [], [], []
        for index, (name, backend) in enumerate(groups):
            if (name, backend, mode) not in values:
                continue
            y, lo, hi = values[(name, backend, mode)]
            xs.append(index + (slot - (len(modes) - 1) / 2) * width)
            ys.append(y)
            low.append(max(0.0, y - lo))
            high.append(max(0.0, hi - y))
        ax.bar(xs, ys, width, yerr=[low, high], capsize=3, color=MODE_STYLE.get(mode, (None,))[0],
               label=mode)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{n}\n{b}" for n, b in groups])
    ax.grid(True, axis="y", alpha=0.3)


def plot_bars(plt, groups, modes, values, title, ylabel, xlabel, path):
    """Grouped bars: one group per (name, backend) of `groups`, one bar per mode;
    `values` maps (name, backend, mode) to (median, min, max)."""
    from matplotlib.ticker import EngFormatter  # matplotlib is imported by now.
    fig, ax = plt.subplots(figsize=(max(7.5, 1.3 * len(groups) * len(modes)), 4.8))
    draw_bars(ax, groups, modes, values)
    ax.yaxis.set_major_formatter(EngFormatter(sep=""))
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)
    ax.legend(title="mode")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_bar_panels(plt, panels, title, ylabel, path):
    """One grouped-bar panel per {"title", "groups", "modes", "values"} (as plot_bars takes),
    two panels to a row."""
    columns = 1 if len(panels) == 1 else 2
    rows = -(-len(panels) // columns)
    widest = max(len(p["groups"]) * len(p["modes"]) for p in panels)
    fig, axes = plt.subplots(rows, columns, squeeze=False, layout="constrained",
                             figsize=(min(18.0, columns * max(5.0, 0.45 * widest)), 3.2 * rows + 0.6))
    for ax, panel in zip(axes.flat, panels):
        draw_bars(ax, panel["groups"], panel["modes"], panel["values"])
        ax.set_title(panel["title"], fontsize="medium")
        ax.set_ylabel(ylabel, fontsize="small")
        ax.tick_params(axis="x", labelsize="x-small")
        ax.legend(title="mode", fontsize="x-small")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def ratio_norm(panels):
    """A diverging scale centred on 1.0 and symmetric in log(ratio), so 0.5 and 2.0 are equally
    strong colours; at least 0.8 to 1.25 so a flat map is not all saturated."""
    import math
    from matplotlib.colors import TwoSlopeNorm
    values = [v for p in panels for row in p["values"] for v in row if v]
    span = max([abs(math.log(v)) for v in values] + [math.log(1.25)])
    return TwoSlopeNorm(vcenter=1.0, vmin=math.exp(-span), vmax=math.exp(span)), span


def plot_heatmaps(plt, panels, title, path):
    """Heat maps of direct/buffered ratios, one per panel {"title", "rows" (labels), "depths",
    "values" (rows x depths, None where unmeasured), "marks" (rows x depths: the outcome's
    symbol from decide.SYMBOLS, drawn after the value)}. Red: buffered faster; blue: direct
    faster; grey: not measured."""
    import math
    import matplotlib
    cmap = matplotlib.colormaps["RdBu"].copy()
    cmap.set_bad("lightgrey")
    norm, span = ratio_norm(panels)
    height = max(2.8, 1.6 + 0.55 * max(len(p["rows"]) for p in panels))
    fig, axes = plt.subplots(1, len(panels), squeeze=False, layout="constrained",
                             figsize=(max(5.5, 3.4 * len(panels) + 1.2), height))
    for ax, panel in zip(axes[0], panels):
        grid = [[math.nan if v is None else v for v in row] for row in panel["values"]]
        image = ax.imshow(grid, cmap=cmap, norm=norm, aspect="auto")
        ax.set_xticks(range(len(panel["depths"])), [str(d) for d in panel["depths"]])
        ax.set_yticks(range(len(panel["rows"])), panel["rows"])
        ax.set_xlabel("queue depth")
        ax.set_title(panel["title"], fontsize="medium")
        for i, row in enumerate(panel["values"]):
            for j, value in enumerate(row):
                if value is None:
                    continue
                strong = abs(math.log(value)) > 0.6 * span if value > 0 else True
                ax.text(j, i, f"{value:.2f} {panel['marks'][i][j]}".strip(), ha="center",
                        va="center", fontsize="small", color="white" if strong else "black")
    fig.colorbar(image, ax=list(axes[0]), label="direct / buffered")
    fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


# The colour of each outcome in an outcome map, by decide.py's outcome names: blue where
# direct is faster, red where buffered is (as the ratio heat maps), green for equivalent,
# a pale yellow for inconclusive; light grey where nothing was measured.
OUTCOME_COLOURS = {"faster": "#4575b4", "equivalent": "#91cf60", "slower": "#d73027",
                   "inconclusive": "#fee08b"}
UNMEASURED_COLOUR = "lightgrey"


def draw_outcome_map(ax, grid):
    """One map of decided outcomes on `ax` (plot_outcome_map's grid); returns nothing."""
    from matplotlib.colors import ListedColormap
    names = list(OUTCOME_COLOURS)
    colours = [OUTCOME_COLOURS[name] for name in names] + [UNMEASURED_COLOUR]
    codes = [[len(names) if o is None else names.index(o) for o in row] for row in grid["outcomes"]]
    rows, depths = grid["rows"], grid["depths"]
    ax.imshow(codes, cmap=ListedColormap(colours), vmin=-0.5, vmax=len(colours) - 0.5, aspect="auto",
              origin="lower")
    ax.set_xticks(range(len(depths)), [str(d) for d in depths])
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("queue depth")
    ax.set_ylabel(grid.get("ylabel", ""))
    for i, row in enumerate(grid["labels"]):
        for j, text in enumerate(row):
            if text:
                ax.text(j, i, text, ha="center", va="center", fontsize="small",
                        color="white" if grid["outcomes"][i][j] in ("faster", "slower") else "black")


def outcome_legend(ax, legend):
    """The legend of an outcome map: `legend` [(outcome name, label)], then "not measured"."""
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(facecolor=OUTCOME_COLOURS.get(n, "white"), edgecolor="grey", label=label)
                       for n, label in legend] + [Patch(facecolor=UNMEASURED_COLOUR, label="not measured")],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", title="direct against buffered")


def plot_outcome_map(plt, grid, title, path, legend):
    """One map of decided outcomes: grid {"rows" (labels, bottom to top), "depths" (columns),
    "outcomes" (rows x depths: an outcome name of OUTCOME_COLOURS, None where unmeasured),
    "labels" (rows x depths: the text written in each square, e.g. "▲ 1.30"), "ylabel"};
    `legend` is [(outcome name, label)] in the order the legend lists them."""
    rows, depths = grid["rows"], grid["depths"]
    fig, ax = plt.subplots(figsize=(max(5.5, 1.1 * len(depths) + 3.0), max(2.8, 1.4 + 0.6 * len(rows))),
                           layout="constrained")
    draw_outcome_map(ax, grid)
    outcome_legend(ax, legend)
    ax.set_title(title, fontsize="medium")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_outcome_maps(plt, grids, title, path, legend):
    """Outcome maps side by side, one per grid (plot_outcome_map's, each with a "title"), so
    the same squares of several runs can be read across; the legend once, after the last."""
    widest = max(len(g["depths"]) for g in grids)
    tallest = max(len(g["rows"]) for g in grids)
    fig, axes = plt.subplots(1, len(grids), squeeze=False, layout="constrained",
                             figsize=(min(24.0, len(grids) * max(4.0, 1.1 * widest + 1.5) + 2.5),
                                      max(2.8, 1.6 + 0.6 * tallest)))
    for ax, grid in zip(axes[0], grids):
        draw_outcome_map(ax, grid)
        ax.set_title(grid["title"], fontsize="medium")
    outcome_legend(axes[0][-1], legend)
    fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


# Colours of the runs set side by side (plot_ratio_panels): one per run, in the order given.
RUN_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
               "tab:olive", "tab:cyan", "tab:grey")


def draw_ratio_panel(ax, panel, band):
    """One panel of plot_ratio_panels on `ax`."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter, NullLocator
    lines = panel["lines"]
    ax.axhspan(band[0], band[1], color="lightgrey", alpha=0.5, linewidth=0)
    ax.axhline(1.0, color="grey", linewidth=0.8)
    depths = sorted({p[0] for line in lines for p in line["points"]})
    for slot, line in enumerate(lines):
        if not line["points"]:
            continue
        colour = RUN_COLOURS[line.get("run", slot) % len(RUN_COLOURS)]
        nudge = 2 ** (0.06 * (slot - (len(lines) - 1) / 2))  # As plot_lines: bars side by side.
        xs = [qd * nudge for qd, _, _, _, _ in line["points"]]
        ys = [y for _, y, _, _, _ in line["points"]]
        ax.errorbar(xs, ys, yerr=[[max(0.0, y - lo) for _, y, lo, _, _ in line["points"]],
                                  [max(0.0, hi - y) for _, y, _, hi, _ in line["points"]]],
                    color=colour, marker="o", capsize=3, linewidth=1.4, label=line["label"])
        open_points = [(x, y) for x, (_, y, _, _, decided) in zip(xs, line["points"]) if not decided]
        if open_points:  # Undecided squares: an open marker over the filled one (errorbar's line sits at 2.1).
            ax.plot(*zip(*open_points), linestyle="none", marker="o", color=colour, markerfacecolor="white", zorder=3)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    if depths:
        ax.set_xticks(depths)
        ax.set_xticklabels([str(d) for d in depths])
        ax.set_xlim(min(depths) / 1.5, max(depths) * 1.5)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_title(panel["title"], fontsize="medium")
    ax.set_xlabel("queue depth", fontsize="small")
    ax.set_ylabel("direct / buffered", fontsize="small")
    ax.grid(True, alpha=0.3)


def plot_ratio_panels(plt, panels, title, path, band):
    """Direct/buffered ratio against depth, several runs on one axis per panel: panels
    [{"title", "lines": [{"label", "run" (index into RUN_COLOURS), "points": [(qd, ratio, lo,
    hi, decided)]}]}], three to a row. Bars span each interval [lo, hi]; an open marker is a
    comparison not decided; `band` (low, high) is shaded: the equivalence margins, given by
    the caller (decide.py holds them). Log scales on both axes, so 0.5 and 2 lie equally far
    from 1."""
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, squeeze=False, layout="constrained",
                             figsize=(4.6 * columns + 0.4, 3.4 * rows + 0.8))
    for ax, panel in zip(axes.flat, panels):
        draw_ratio_panel(ax, panel, band)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    for ax in list(axes.flat)[1:len(panels)]:  # Every run once, whichever panel first drew it.
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    # On the first panel (matplotlib 3.6 has no legend outside a constrained layout): one
    # colour per run holds in every panel.
    axes.flat[0].legend(handles, labels, fontsize="x-small", title="run (bars: interval;\nopen: not decided)",
                        title_fontsize="x-small")
    fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)
