"""Plots every run_* folder: mean log10 objective over iterations per test function, and final values.

Run:  python plot.py
"""

import glob
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

LABELS = {"run_0": "Baseline"}


def main():
    runs = {}
    for folder in sorted(glob.glob("run_*")):
        info_path, trace_path = os.path.join(folder, "final_info.json"), os.path.join(folder, "traces.json")
        if os.path.exists(info_path):
            with open(info_path) as f:
                info = json.load(f)
            traces = {}
            if os.path.exists(trace_path):
                with open(trace_path) as f:
                    traces = json.load(f)
            runs[folder] = (info, traces)
    functions = sorted({name for info, _ in runs.values() for name in info})
    fig, axes = plt.subplots(1, len(functions), figsize=(4 * len(functions), 3.5), squeeze=False)
    for ax, name in zip(axes[0], functions):
        for folder, (_, traces) in runs.items():
            if name in traces and traces[name]:
                values = np.log10(np.maximum(np.array(traces[name]), 1e-12))
                ax.plot(np.arange(1, values.shape[1] + 1) * 50, values.mean(0), label=LABELS.get(folder, folder))
        ax.set_title(name)
        ax.set_xlabel("iteration")
        ax.set_ylabel("mean log10 f(x)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig("objective_traces.png", dpi=150)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.8 / max(1, len(runs))
    for i, (folder, (info, _)) in enumerate(runs.items()):
        means = [info[n]["means"]["log10_final_value"] if n in info else np.nan for n in functions]
        errs = [info[n]["stderrs"]["log10_final_value"] if n in info else 0 for n in functions]
        ax.bar(np.arange(len(functions)) + i * width, means, width, yerr=errs, capsize=3,
               label=LABELS.get(folder, folder))
    ax.set_xticks(np.arange(len(functions)) + width * (len(runs) - 1) / 2, functions)
    ax.set_ylabel("log10 final f(x)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig("final_values.png", dpi=150)
    plt.close(fig)


if __name__ == "__main__":
    main()
