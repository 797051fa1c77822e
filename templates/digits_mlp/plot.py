"""Plots every run_* folder in the current directory: test-accuracy curves and a final-accuracy bar chart.

Run:  python plot.py      (after experiment.py has written run_0, run_1, ...)
"""

import glob
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# Legend names per run folder; runs not listed are labelled by their folder name.
LABELS = {"run_0": "Baseline"}


def load_runs():
    runs = {}
    for folder in sorted(glob.glob("run_*")):
        info_path = os.path.join(folder, "final_info.json")
        if not os.path.exists(info_path):
            continue
        with open(info_path) as f:
            info = json.load(f)["digits"]
        curves = {}
        curve_path = os.path.join(folder, "curves.json")
        if os.path.exists(curve_path):
            with open(curve_path) as f:
                curves = json.load(f)
        runs[folder] = (info, curves)
    return runs


def main():
    runs = load_runs()
    plt.figure(figsize=(6, 4))
    for folder, (_, curves) in runs.items():
        if not curves:
            continue
        acc = np.array([[p["test_accuracy"] for p in c] for c in curves.values()])
        mean, err = acc.mean(0), acc.std(0) / np.sqrt(len(acc))
        epochs = np.arange(1, len(mean) + 1)
        plt.plot(epochs, mean, label=LABELS.get(folder, folder))
        plt.fill_between(epochs, mean - err, mean + err, alpha=0.2)
    plt.xlabel("epoch")
    plt.ylabel("test accuracy")
    plt.legend()
    plt.tight_layout()
    plt.savefig("test_accuracy_curves.png", dpi=150)
    plt.close()

    names = list(runs)
    means = [runs[n][0]["means"]["test_accuracy"] for n in names]
    errs = [runs[n][0]["stderrs"]["test_accuracy"] for n in names]
    plt.figure(figsize=(6, 4))
    plt.bar([LABELS.get(n, n) for n in names], means, yerr=errs, capsize=4)
    plt.ylim(min(means) - 0.05, 1.0)
    plt.ylabel("final test accuracy")
    plt.tight_layout()
    plt.savefig("final_test_accuracy.png", dpi=150)
    plt.close()


if __name__ == "__main__":
    main()
