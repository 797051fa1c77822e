"""Baseline: first-order optimisers on classic test functions, many random starts, mean and standard error.

Run:  python experiment.py --out_dir run_0
Writes run_0/final_info.json ({"<function>": {"means": {...}, "stderrs": {...}, "per_seed": [...]}}) and
run_0/traces.json.
"""

import argparse
import json
import os

import numpy as np
from scipy.optimize import rosen, rosen_der

# -----------------------------------------------------------------------------
# defaults (flat, commented, edit freely)
DIM = 10  # problem dimension
STEPS = 3000  # optimiser iterations per start
STARTS = 20  # random initial points per function (the "seeds")
INIT_SCALE = 2.0  # starts drawn uniformly from [-INIT_SCALE, INIT_SCALE]^DIM
OPTIMIZER = "adam"  # "gd", "momentum" or "adam"; a new optimiser is a new branch in optimise, chosen here
LEARNING_RATE = 1e-2
MOMENTUM = 0.9  # for "momentum"
BETAS = (0.9, 0.999)  # for "adam"
GRAD_CLIP = 100.0  # clip the gradient norm (keeps gd stable on Rosenbrock)
TOLERANCE = 1e-3  # "solved" when f(x) - f* < TOLERANCE
# -----------------------------------------------------------------------------


def rastrigin(x):
    """The Rastrigin function: a bowl covered with regularly spaced local minima; minimum 0 at the origin."""
    return 10 * len(x) + float(np.sum(x**2 - 10 * np.cos(2 * np.pi * x)))


def rastrigin_der(x):
    """The derivative of rastrigin."""
    return 2 * x + 20 * np.pi * np.sin(2 * np.pi * x)


def quadratic(x):
    """An ill-conditioned quadratic (curvatures from 1 to 1e3 across coordinates); minimum 0 at the origin."""
    scales = np.logspace(0, 3, len(x))
    return float(0.5 * np.sum(scales * x**2))


def quadratic_der(x):
    """The derivative of quadratic."""
    return np.logspace(0, 3, len(x)) * x


FUNCTIONS = {"rosenbrock": (rosen, rosen_der), "rastrigin": (rastrigin, rastrigin_der),
             "quadratic": (quadratic, quadratic_der)}


def optimise(f, grad, x0, steps=STEPS, rng=None):
    """``steps`` iterations of OPTIMIZER from x0: (the last point, the step f first fell below TOLERANCE
    or None, f at every 50th step). Each step takes the gradient g at x and updates x by gradient
    descent, heavy-ball momentum or Adam: a new update rule, preconditioner, learning-rate schedule
    or gradient noise goes in this loop. ``rng`` is the start's own seeded Generator: a random part of
    the update draws from it, so every run draws the same numbers for the same start."""
    x = x0.copy()
    velocity = np.zeros_like(x)
    m, v = np.zeros_like(x), np.zeros_like(x)
    trace, solved_at = [], None
    for t in range(1, steps + 1):
        g = grad(x)
        norm = np.linalg.norm(g)
        if norm > GRAD_CLIP:
            g = g * (GRAD_CLIP / norm)
        if OPTIMIZER == "gd":
            x = x - LEARNING_RATE * g
        elif OPTIMIZER == "momentum":
            velocity = MOMENTUM * velocity - LEARNING_RATE * g
            x = x + velocity
        else:
            m = BETAS[0] * m + (1 - BETAS[0]) * g
            v = BETAS[1] * v + (1 - BETAS[1]) * g**2
            m_hat, v_hat = m / (1 - BETAS[0] ** t), v / (1 - BETAS[1] ** t)
            x = x - LEARNING_RATE * m_hat / (np.sqrt(v_hat) + 1e-8)
        value = f(x)
        if solved_at is None and value < TOLERANCE:
            solved_at = t
        if t % 50 == 0:
            trace.append(value)
    return x, solved_at, trace


def run_start(f, grad, x0, rng):
    """One random start: the optimiser run from x0 (``optimise(f, grad, x, steps=n, rng=rng)`` runs n
    iterations from any point x; ``rng``: the start's own seeded Generator). Returns (the final value,
    the step it was first solved at or None, the trace)."""
    x, solved_at, trace = optimise(f, grad, x0, rng=rng)
    return f(x), solved_at, trace


def main():
    """Every test function in FUNCTIONS from the same STARTS random starts, then per function the mean
    and standard error of the final value (log10), the success rate and the steps to TOLERANCE."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out_dir", type=str, default="run_0")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    final_info, traces = {}, {}
    for name, (f, grad) in FUNCTIONS.items():
        rng = np.random.default_rng(0)
        finals, steps, solved, runs = [], [], [], []
        for start in range(STARTS):
            x0 = rng.uniform(-INIT_SCALE, INIT_SCALE, DIM)
            # a generator per start, apart from the one that draws the starts, so runs keep the same starts
            final, solved_at, trace = run_start(f, grad, x0, np.random.default_rng([1, start]))
            finals.append(np.log10(max(final, 1e-12)))
            solved.append(solved_at is not None)
            steps.append(solved_at if solved_at is not None else STEPS)
            runs.append(trace)
        per_start = {"log10_final_value": finals, "success_rate": [float(s) for s in solved],
                     "steps_to_tolerance": [float(s) for s in steps]}
        n = len(finals)
        final_info[name] = {
            "means": {k: float(np.mean(v)) for k, v in per_start.items()},
            "stderrs": {k: float(np.std(v, ddof=1) / np.sqrt(n)) for k, v in per_start.items()},
            # one record per start; every run draws the same starts, so runs compare start by start
            "per_seed": [{k: float(v[i]) for k, v in per_start.items()} for i in range(n)],
        }
        traces[name] = runs
        print(f"{name}: mean log10 final value {final_info[name]['means']['log10_final_value']:.3f}, "
              f"success {final_info[name]['means']['success_rate']:.2f}")
    with open(os.path.join(args.out_dir, "final_info.json"), "w") as fh:
        json.dump(final_info, fh, indent=2)
    with open(os.path.join(args.out_dir, "traces.json"), "w") as fh:
        json.dump(traces, fh)


if __name__ == "__main__":
    main()
