"""Plots every run_* folder: closed-loop forecast error over time, and valid prediction times.

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
DT, LYAPUNOV_EXPONENT = 0.02, 0.906


def main():
    runs = {}
    for folder in sorted(glob.glob("run_*")):
        info_path = os.path.join(folder, "final_info.json")
        if not os.path.exists(info_path):
            continue
        with open(info_path) as f:
            info = json.load(f)["lorenz63"]
        errors = {}
        err_path = os.path.join(folder, "forecast_errors.json")
        if os.path.exists(err_path):
            with open(err_path) as f:
                errors = json.load(f)
        runs[folder] = (info, errors)

    plt.figure(figsize=(6, 4))
    for folder, (_, errors) in runs.items():
        if errors:
            err = np.array(list(errors.values()))
            t = np.arange(err.shape[1]) * DT * LYAPUNOV_EXPONENT
            plt.semilogy(t, np.median(err, 0), label=LABELS.get(folder, folder))
    plt.axhline(0.4, color="gray", linestyle="--", linewidth=0.8)
    plt.xlabel("time (Lyapunov times)")
    plt.ylabel("normalised forecast error (median over seeds)")
    plt.legend()
    plt.tight_layout()
    plt.savefig("forecast_error.png", dpi=150)
    plt.close()

    names = list(runs)
    plt.figure(figsize=(6, 4))
    plt.bar([LABELS.get(n, n) for n in names], [runs[n][0]["means"]["valid_time_lyapunov"] for n in names],
            yerr=[runs[n][0]["stderrs"]["valid_time_lyapunov"] for n in names], capsize=4)
    plt.ylabel("valid prediction time (Lyapunov times)")
    plt.tight_layout()
    plt.savefig("valid_time.png", dpi=150)
    plt.close()


if __name__ == "__main__":
    main()
