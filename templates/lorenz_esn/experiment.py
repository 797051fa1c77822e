"""Baseline: an echo state network (reservoir computer) forecasting the chaotic Lorenz-63 system.

The reservoir is driven by the true trajectory (teacher forcing), a ridge-regression readout is
fitted, then the network runs closed-loop from the end of training. Metrics: valid prediction
time (in Lyapunov times, until the normalised error first exceeds 0.4) and the one-step test NRMSE,
mean and standard error over seeds.

Run:  python experiment.py --out_dir run_0
Everything below the defaults is ordinary, editable research code: the reservoir, the features the
readout sees, the training and the forecasting loops are all here to change.
"""

import argparse
import json
import os

import numpy as np
from scipy.integrate import solve_ivp

# -----------------------------------------------------------------------------
# defaults (flat, commented, edit freely)
DT = 0.02  # sampling step of the trajectory
WARMUP = 500  # steps discarded to wash out the reservoir's initial state
TRAIN = 5000  # teacher-forced training steps
TEST = 1000  # closed-loop forecast steps
RESERVOIR = 300  # reservoir size
SPECTRAL_RADIUS = 0.9
INPUT_SCALE = 0.1
LEAK = 1.0  # leaking rate (1.0 = no leak)
DENSITY = 0.05  # fraction of non-zero recurrent weights
RIDGE = 1e-6  # readout regularisation
SEEDS = (0, 1, 2, 3, 4)
LYAPUNOV_EXPONENT = 0.906  # largest Lyapunov exponent of Lorenz-63
ERROR_THRESHOLD = 0.4
# -----------------------------------------------------------------------------


def lorenz_trajectory(n_steps, seed):
    """``n_steps`` points of a Lorenz-63 trajectory sampled every DT from a random start, after its
    transient onto the attractor; each coordinate standardised (zero mean, unit variance)."""
    rng = np.random.default_rng(seed)

    def rhs(_t, s, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
        x, y, z = s
        return [sigma * (y - x), x * (rho - z) - y, x * y - beta * z]

    x0 = rng.normal(size=3) + np.array([1.0, 1.0, 25.0])
    t_end = (n_steps + 1000) * DT
    sol = solve_ivp(rhs, (0, t_end), x0, t_eval=np.arange(0, t_end, DT), rtol=1e-9, atol=1e-9)
    data = sol.y.T[1000:1000 + n_steps]  # drop the transient onto the attractor
    return (data - data.mean(0)) / data.std(0)


def make_reservoir(rng):
    """The reservoir's fixed random weights: the sparse recurrent matrix ``w`` (RESERVOIR x RESERVOIR, a
    fraction DENSITY non-zero, scaled to spectral radius SPECTRAL_RADIUS) and the input matrix ``w_in``
    (RESERVOIR x 3, uniform within INPUT_SCALE)."""
    w = rng.uniform(-1, 1, (RESERVOIR, RESERVOIR)) * (rng.random((RESERVOIR, RESERVOIR)) < DENSITY)
    w *= SPECTRAL_RADIUS / max(abs(np.linalg.eigvals(w)))
    w_in = rng.uniform(-INPUT_SCALE, INPUT_SCALE, (RESERVOIR, 3))
    return w, w_in


def step(state, u, w, w_in):
    """One reservoir update: the next state from the current state and the input u, a leaky (rate LEAK)
    tanh activation of the recurrent and input drive. Training, the test and the forecast all use it."""
    return (1 - LEAK) * state + LEAK * np.tanh(w @ state + w_in @ u)


def training_input(u, rng):
    """The input the reservoir is driven with at one training step (u: that step's 3-vector of data; the
    result is a 3-vector too). Only training uses it: the test and the forecast drive the reservoir
    with the data as it is."""
    return u


def readout_features(states):
    """What the linear readout sees of each reservoir state (rows of ``states``, or one state): the state itself.
    Features run along the last axis (join new ones with ``axis=-1``), so one code serves rows and one state."""
    return states


def run_seed(seed):
    """One seed: drive the reservoir with the training data and keep its states after the warm-up, fit
    the ridge readout on their features, then score the teacher-forced one-step test error and the
    closed-loop forecast. Returns (the metrics, the forecast's normalised error at each step)."""
    rng = np.random.default_rng(seed)
    data = lorenz_trajectory(WARMUP + TRAIN + TEST + 1, seed)
    w, w_in = make_reservoir(rng)
    state = np.zeros(RESERVOIR)
    states = []
    for t in range(WARMUP + TRAIN):
        state = step(state, training_input(data[t], rng), w, w_in)
        if t >= WARMUP:
            states.append(state)
    x = readout_features(np.array(states))
    y = data[WARMUP + 1:WARMUP + TRAIN + 1]
    w_out = np.linalg.solve(x.T @ x + RIDGE * np.eye(x.shape[1]), x.T @ y).T

    # one-step error on the test segment (teacher forced)
    s = state.copy()
    one_step = []
    for t in range(WARMUP + TRAIN, WARMUP + TRAIN + TEST):
        s = step(s, data[t], w, w_in)
        one_step.append(w_out @ readout_features(s))
    target = data[WARMUP + TRAIN + 1:WARMUP + TRAIN + TEST + 1]
    nrmse = float(np.sqrt(np.mean((np.array(one_step) - target) ** 2)))

    # closed-loop forecast from the end of training
    s, u = state.copy(), data[WARMUP + TRAIN]
    forecast = []
    for _ in range(TEST):
        s = step(s, u, w, w_in)
        u = w_out @ readout_features(s)
        forecast.append(u)
    forecast = np.array(forecast)
    err = np.linalg.norm(forecast - target, axis=1) / np.sqrt(np.mean(np.sum(target**2, axis=1)))
    above = np.nonzero(err > ERROR_THRESHOLD)[0]
    valid_steps = int(above[0]) if above.size else TEST
    return {"valid_time_lyapunov": valid_steps * DT * LYAPUNOV_EXPONENT, "one_step_nrmse": nrmse}, \
        err[:400].tolist()


def main():
    """Every seed in SEEDS, then the mean and standard error of each metric into final_info.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out_dir", type=str, default="run_0")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    results, errors = [], {}
    for seed in SEEDS:
        metrics, err = run_seed(seed)
        results.append(metrics)
        errors[str(seed)] = err
        print(f"seed {seed}: valid time {metrics['valid_time_lyapunov']:.2f} Lyapunov times, "
              f"one-step NRMSE {metrics['one_step_nrmse']:.2e}")
    n = len(results)
    means = {k: float(np.mean([r[k] for r in results])) for k in results[0]}
    stderrs = {k: float(np.std([r[k] for r in results], ddof=1) / np.sqrt(n)) for k in results[0]}
    with open(os.path.join(args.out_dir, "final_info.json"), "w") as f:
        json.dump({"lorenz63": {"means": means, "stderrs": stderrs, "per_seed": results}}, f, indent=2)
    with open(os.path.join(args.out_dir, "forecast_errors.json"), "w") as f:
        json.dump(errors, f)


if __name__ == "__main__":
    main()
