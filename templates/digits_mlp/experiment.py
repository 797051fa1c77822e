"""Baseline: a small MLP on scikit-learn's bundled 8x8 digits, several seeds, mean and standard error.

Run:  python experiment.py --out_dir run_0
Writes run_0/final_info.json ({"digits": {"means": {...}, "stderrs": {...}}}) and run_0/curves.json.
Everything below the defaults is ordinary, editable research code.
"""

import argparse
import json
import os
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

# -----------------------------------------------------------------------------
# defaults (flat, commented, edit freely)
HIDDEN_SIZES = (64,)  # hidden layer widths
LEARNING_RATE = 1e-3  # Adam step size
ALPHA = 1e-4  # L2 penalty
BATCH_SIZE = 64
EPOCHS = 40  # passes over the training set
TEST_FRACTION = 0.25
SEEDS = (0, 1, 2)  # each seed: its own split and initialisation
# -----------------------------------------------------------------------------


def load_data(seed):
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=TEST_FRACTION, random_state=seed, stratify=digits.target)
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_test), y_train, y_test


def train_one(seed):
    x_train, x_test, y_train, y_test = load_data(seed)
    model = MLPClassifier(hidden_layer_sizes=HIDDEN_SIZES, learning_rate_init=LEARNING_RATE, alpha=ALPHA,
                          batch_size=BATCH_SIZE, max_iter=1, warm_start=True, random_state=seed)
    classes = np.unique(y_train)
    curve = []
    start = time.time()
    for epoch in range(EPOCHS):
        model.partial_fit(x_train, y_train, classes=classes)
        curve.append({"epoch": epoch + 1, "train_loss": float(model.loss_),
                      "test_accuracy": float(model.score(x_test, y_test))})
    return {
        "test_accuracy": float(model.score(x_test, y_test)),
        "train_accuracy": float(model.score(x_train, y_train)),
        "final_train_loss": float(model.loss_),
        "train_time_s": time.time() - start,
    }, curve


def summarise(per_seed):
    keys = per_seed[0].keys()
    means = {k: float(np.mean([r[k] for r in per_seed])) for k in keys}
    stderrs = {k: float(np.std([r[k] for r in per_seed], ddof=1) / np.sqrt(len(per_seed))) for k in keys}
    return means, stderrs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out_dir", type=str, default="run_0")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    results, curves = [], {}
    for seed in SEEDS:
        metrics, curve = train_one(seed)
        results.append(metrics)
        curves[str(seed)] = curve
        print(f"seed {seed}: test accuracy {metrics['test_accuracy']:.4f}")
    means, stderrs = summarise(results)
    final_info = {"digits": {"means": means, "stderrs": stderrs, "final_info_dict": {"per_seed": results}}}
    with open(os.path.join(args.out_dir, "final_info.json"), "w") as f:
        json.dump(final_info, f, indent=2)
    with open(os.path.join(args.out_dir, "curves.json"), "w") as f:
        json.dump(curves, f)


if __name__ == "__main__":
    main()
