"""Baseline: an MLP in numpy (forward pass, softmax cross-entropy, gradients by automatic differentiation,
Adam) on scikit-learn's bundled 8x8 digits, several seeds, mean and standard error.

Run:  python experiment.py --out_dir run_0
Writes run_0/final_info.json ({"digits": {"means": {...}, "stderrs": {...}, "per_seed": [...]}}) and
run_0/curves.json.
Everything below the defaults is ordinary, editable research code: the training targets, the forward
pass, the loss, the optimiser and the loop are all here to change. ``np`` is autograd's numpy, so the
gradients follow whatever the forward pass and the loss compute: change those and the backward pass
needs no edit. Write them with np functions on whole arrays (np.where, np.clip, np.maximum...), not
by assigning into arrays.
"""

import argparse
import json
import os
import time

import autograd.numpy as np
from autograd import value_and_grad
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

# -----------------------------------------------------------------------------
# defaults (flat, commented, edit freely)
HIDDEN_SIZES = (64,)  # hidden layer widths, e.g. (128,) or (32, 32)
LEARNING_RATE = 1e-3  # Adam step size
BETAS = (0.9, 0.999)  # Adam moment decay rates
WEIGHT_DECAY = 1e-4  # L2 penalty on the weights
BATCH_SIZE = 64
EPOCHS = 40  # passes over the training set
TEST_FRACTION = 0.25
SEEDS = (0, 1, 2)  # each seed: its own split, initialisation and batch order
# -----------------------------------------------------------------------------


def load_data(seed):
    """A seed's stratified train/test split of the 8x8 digit images: rows of 64 pixels, each standardised
    (StandardScaler fitted on the train split), and labels 0-9."""
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=TEST_FRACTION, random_state=seed, stratify=digits.target)
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_test), y_train, y_test


def init_params(rng, sizes):
    """One [weights, biases] pair per layer (He initialisation)."""
    return [[rng.normal(0.0, np.sqrt(2.0 / n_in), (n_in, n_out)), np.zeros(n_out)]
            for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def forward(params, x, rng=None):
    """The logits: hidden layers with a ReLU activation, then a linear output layer. ``rng`` is the
    run's Generator while training and None at test time: a random part of the network draws from it,
    and only while training."""
    h = x
    for w, b in params[:-1]:
        z = h @ w + b
        h = np.maximum(z, 0.0)  # the hidden layers' activation function (ReLU)
    w, b = params[-1]
    return h @ w + b


def softmax(logits):
    """Class probabilities from logits, row by row (shifted by the row maximum so exp cannot overflow)."""
    z = logits - np.max(logits, axis=1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=1, keepdims=True)


def loss(params, x, targets, rng=None):
    """Cross-entropy against target distributions (one row per example) plus the L2 penalty on the
    weights; the value training minimises (``rng``: as in forward)."""
    probs = softmax(forward(params, x, rng))
    data_loss = -np.sum(targets * np.log(probs + 1e-12)) / len(x)
    return data_loss + 0.5 * WEIGHT_DECAY * sum(np.sum(w * w) for w, _ in params)


# (loss, grads): the loss and its gradient with respect to every array of params, in params' nesting
# ([dW, db] per layer), by automatic differentiation of loss
loss_and_grads = value_and_grad(loss)


def adam_step(params, grads, state, lr):
    """One Adam update of every array in place."""
    state["t"] += 1
    beta1, beta2 = BETAS
    for i, layer in enumerate(params):
        for j, g in enumerate(grads[i]):
            state["m"][i][j] = beta1 * state["m"][i][j] + (1 - beta1) * g
            state["v"][i][j] = beta2 * state["v"][i][j] + (1 - beta2) * g * g
            m_hat = state["m"][i][j] / (1 - beta1 ** state["t"])
            v_hat = state["v"][i][j] / (1 - beta2 ** state["t"])
            layer[j] -= lr * m_hat / (np.sqrt(v_hat) + 1e-8)


def training_targets(y):
    """The target distributions the loss trains toward, one row per training example (y: integer labels
    0-9): one-hot rows, an array of shape (len(y), 10) whose rows sum to 1. Only training uses them:
    accuracy is measured against the labels."""
    return np.eye(10)[y]


def training_images(x, rng):
    """The training images of one batch as the network sees them (x: rows of standardised pixels; the
    result has x's shape). Only training uses it: accuracy is measured on the data as it is."""
    return x


def accuracy(params, x, y):
    """The fraction of rows of x the network classifies as their label y (forward at test time: no rng)."""
    return float(np.mean(np.argmax(forward(params, x), axis=1) == y))


def train_one(seed):
    """A seed's network initialised, then trained for EPOCHS shuffled passes of mini-batch Adam. Returns
    (its final metrics, the per-epoch curve)."""
    x_train, x_test, y_train, y_test = load_data(seed)
    rng = np.random.default_rng(seed)
    params = init_params(rng, (x_train.shape[1], *HIDDEN_SIZES, 10))
    state = {"t": 0, "m": [[np.zeros_like(a) for a in layer] for layer in params],
             "v": [[np.zeros_like(a) for a in layer] for layer in params]}
    targets = training_targets(y_train)
    curve = []
    start = time.time()
    for epoch in range(EPOCHS):
        order = rng.permutation(len(x_train))
        losses = []
        for i in range(0, len(order), BATCH_SIZE):
            batch = order[i:i + BATCH_SIZE]
            batch_loss, grads = loss_and_grads(params, training_images(x_train[batch], rng), targets[batch], rng)
            adam_step(params, grads, state, LEARNING_RATE)
            losses.append(batch_loss)
        curve.append({"epoch": epoch + 1, "train_loss": float(np.mean(losses)),
                      "test_accuracy": accuracy(params, x_test, y_test)})
    return {
        "test_accuracy": accuracy(params, x_test, y_test),
        "train_accuracy": accuracy(params, x_train, y_train),
        "final_train_loss": curve[-1]["train_loss"],
        "train_time_s": time.time() - start,
    }, curve


def summarise(per_seed):
    keys = per_seed[0].keys()
    means = {k: float(np.mean([r[k] for r in per_seed])) for k in keys}
    stderrs = {k: float(np.std([r[k] for r in per_seed], ddof=1) / np.sqrt(len(per_seed))) for k in keys}
    return means, stderrs


def main():
    """Every seed in SEEDS, then the summary into final_info.json and the curves into curves.json."""
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
    final_info = {"digits": {"means": means, "stderrs": stderrs, "per_seed": results}}
    with open(os.path.join(args.out_dir, "final_info.json"), "w") as f:
        json.dump(final_info, f, indent=2)
    with open(os.path.join(args.out_dir, "curves.json"), "w") as f:
        json.dump(curves, f)


if __name__ == "__main__":
    main()
