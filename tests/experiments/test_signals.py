"""Fidelity signals computed from a run's code, rerun and results."""

from __future__ import annotations

import json

from scientist.experiments.reruns.lines import Rerun
from scientist.experiments.signals import (
    agree,
    beyond_noise,
    compute,
    gradients_left_behind,
    numbers_missing,
    renamed_branches,
    unpaired_changes,
    unseeded_draws,
)

BASE = '''import numpy as np

RATE = 0.1


def f(x):
    return np.sum(x ** 2)


def f_der(x):
    return 2 * x


def forward(w, x):
    return np.maximum(0, x @ w)


def loss_and_grads(w, x):
    h = forward(w, x)
    return h.sum(), (h > 0).astype(float)
'''


def test_the_change_s_numbers_must_appear_in_a_changed_line():
    code = BASE.replace("RATE = 0.1", "RATE = 0.1\nALPHA = 0.2")
    assert numbers_missing("Use mixup with alpha = 0.2", BASE, code) == []
    assert numbers_missing("Use mixup with alpha = 0.2 and compare test accuracy", BASE, BASE.replace(
        "return np.sum(x ** 2)", "return np.sum(x ** 4)")) == ["0.2"]
    assert numbers_missing("Halve it in two runs", BASE, BASE) == [], "small counts are not checked"
    assert numbers_missing("Decay to 1% of the rate", BASE, BASE.replace("RATE = 0.1", "RATE = 0.1\nEND = 0.01")) == []
    epochs = BASE.replace("RATE = 0.1", "RATE = 0.1\nEPOCHS = 40")
    decayed = epochs.replace("return np.sum(x ** 2)", "return np.sum(x ** 2) * np.cos(RATE / EPOCHS)")
    assert numbers_missing("Decay the rate over the 40 epochs", epochs, decayed) == [], \
        "a number the baseline already writes is used by its name"
    normal = BASE.replace("return np.sum(x ** 2)", "return np.sum(x ** 2) + np.random.default_rng(0).normal(0, RATE)")
    assert numbers_missing("Draw it from a normal times 0.1 instead of uniform in [-0.1, 0.1]", BASE, normal) == [], \
        "a number is matched by its magnitude: -0.1 is the baseline's -RATE"
    assert numbers_missing("Use -0.7 times it", BASE, BASE.replace("return 2 * x", "return 2 * x - 0.7 * x")) == []


def test_a_changed_function_whose_derivative_or_backward_pass_stayed_is_flagged():
    changed = BASE.replace("return np.sum(x ** 2)", "return np.sum(x ** 4)")
    assert unpaired_changes(BASE, changed) == ["f changed but f_der (its derivative or backward pass) did not"]
    both = changed.replace("return 2 * x", "return 4 * x ** 3")
    assert unpaired_changes(BASE, both) == []
    activation = BASE.replace("np.maximum(0, x @ w)", "np.tanh(x @ w)")
    assert unpaired_changes(BASE, activation) == [
        "forward changed but loss_and_grads (its derivative or backward pass) did not"]
    # a backward pass rewritten so that it computes the old derivative (h > 0.1 * h is h > 0) is left as it was
    leaky = BASE.replace("np.maximum(0, x @ w)", "np.maximum(0.1 * (x @ w), x @ w)").replace(
        "(h > 0)", "(h > 0.1 * h)")
    assert unpaired_changes(BASE, leaky) == []
    assert unpaired_changes(BASE, leaky, frozenset({"loss_and_grads"})) == [
        "forward changed but loss_and_grads (its derivative or backward pass) computes what it did"]
    found = compute("use a leaky ReLU", BASE, leaky, _missing(), _missing(),
                    Rerun(missed=[], same=[("loss_and_grads", 3)]))
    assert found.pairs_changed is False and found.computes_anew is False
    assert found.defects == ["forward changed but loss_and_grads (its derivative or backward pass) computes what "
                             "it did"], "the pair is the defect; the rewrite beside the changed forward is reported"
    assert unpaired_changes(BASE, BASE.replace("RATE = 0.1", "RATE = 0.2")) == [], "a setting has no pair"


LOSS = '''import numpy as np

DECAY = 1e-4


def loss_and_grads(w, x, t):
    p = 1 / (1 + np.exp(-(x @ w)))
    loss = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    loss += DECAY * np.sum(w * w)
    grad = x.T @ (p - t) / len(x) + 2 * DECAY * w
    return float(loss), grad
'''


def test_a_new_loss_trained_with_the_old_gradients_is_flagged():
    l1 = LOSS.replace("loss += DECAY * np.sum(w * w)", "loss += DECAY * np.sum(np.abs(w))")
    assert gradients_left_behind(LOSS, l1) == ["loss_and_grads changes loss but not grad (its gradients)"]
    both = l1.replace("2 * DECAY * w", "DECAY * np.sign(w)")
    assert gradients_left_behind(LOSS, both) == []
    shared = LOSS.replace("p = 1 / (1 + np.exp(-(x @ w)))", "p = 1 / (1 + np.exp(-(x @ w) / 2))")
    assert gradients_left_behind(LOSS, shared) == [], "a change both outputs read is not flagged"
    rewritten = LOSS.replace("return float(loss), grad", "return float(2 * loss), grad")
    assert gradients_left_behind(LOSS, rewritten) == [], "a rewritten return is not followed"
    assert gradients_left_behind(LOSS, LOSS.replace("DECAY = 1e-4", "DECAY = 1e-3")) == [], "a setting is no function"
    signals = compute("use an L1 penalty", LOSS, l1, _missing(), _missing(), None)
    assert "loss_and_grads changes loss but not grad (its gradients)" in signals.defects
    assert signals.pairs_changed is False


SWITCH = '''OPTIMIZER = "adam"
RATE = 0.1


def step(x, g, t):
    if OPTIMIZER == "gd":
        x = x - RATE * g
    else:
        x = x - RATE * g / (1 + t)
    return x
'''


def test_a_new_line_in_a_branch_the_baseline_s_settings_never_take_is_no_defect():
    decayed = SWITCH.replace("def step(x, g, t):\n", "def step(x, g, t):\n    rate = RATE * 0.5 ** (t // 1000)\n")
    decayed = decayed.replace("RATE * g", "rate * g")
    gd_line = decayed.splitlines().index("        x = x - rate * g") + 1
    signals = compute("halve the rate every 1000 steps", SWITCH, decayed, _missing(), _missing(),
                      Rerun(missed=[gd_line]))
    assert signals.new_lines_ran is True and signals.defects == [], "gd is not selected: it never runs"
    guarded = SWITCH.replace("    else:\n", '    elif OPTIMIZER == "sgd":\n        x = x * 0.5\n    else:\n')
    new_branch = guarded.splitlines().index("        x = x * 0.5") + 1
    signals = compute("shrink x", SWITCH, guarded, _missing(), _missing(), Rerun(missed=[new_branch]))
    assert signals.new_lines_ran is False, "a branch whose test the edit wrote is the edit's own: it must run"
    fallback = SWITCH.replace('OPTIMIZER = "adam"', 'OPTIMIZER = "adam"\nSCALED = True').replace(
        "    return x\n", "    if SCALED:\n        return 0.5 * x\n    else:\n        return x\n")
    kept = fallback.splitlines().index("        return x") + 1
    signals = compute("scale the step's result by a half", SWITCH, fallback, _missing(), _missing(),
                      Rerun(missed=[kept]))
    assert signals.new_lines_ran is True, "the baseline's own line kept as a new setting's fallback need not run"


def _missing():
    from pathlib import Path

    return Path("/nonexistent/final_info.json")


def _info(path, means, errors):
    path.write_text(json.dumps({"toy": {"means": means, "stderrs": errors}}))
    return path


def test_results_must_differ_from_the_baseline_s_beyond_seed_noise(tmp_path):
    base = _info(tmp_path / "base.json", {"acc": 0.90, "train_time": 3.0}, {"acc": 0.01, "train_time": 0.1})
    near = _info(tmp_path / "near.json", {"acc": 0.91, "train_time": 9.0}, {"acc": 0.01, "train_time": 0.1})
    far = _info(tmp_path / "far.json", {"acc": 0.95, "train_time": 3.0}, {"acc": 0.01, "train_time": 0.1})
    assert beyond_noise(base, near) is False, "timings are not results; 0.01 is within 2 standard errors"
    assert beyond_noise(base, far) is True
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"toy": {"means": {"acc": 0.5}}}))
    assert beyond_noise(bare, bare) is None, "no standard errors: cannot say"


def test_two_runs_agree_when_every_metric_is_within_half_their_seed_noise(tmp_path):
    one = _info(tmp_path / "one.json", {"acc": 0.900, "loss": 0.3, "train_time": 3.0},
                {"acc": 0.01, "loss": 0.0, "train_time": 0.1})
    same = _info(tmp_path / "same.json", {"acc": 0.903, "loss": 0.3, "train_time": 7.0},
                 {"acc": 0.01, "loss": 0.0, "train_time": 0.1})
    other = _info(tmp_path / "other.json", {"acc": 0.912, "loss": 0.3, "train_time": 3.0},
                  {"acc": 0.01, "loss": 0.0, "train_time": 0.1})
    exact_differs = _info(tmp_path / "exact.json", {"acc": 0.900, "loss": 0.31, "train_time": 3.0},
                          {"acc": 0.01, "loss": 0.0, "train_time": 0.1})
    assert agree(one, same), "0.003 apart is within half of sqrt(2) * 0.01; timings are not results"
    assert not agree(one, other), "0.012 apart is not"
    assert not agree(one, exact_differs), "a metric with no seed noise must be equal"
    assert not agree(one, _info(tmp_path / "none.json", {"f1": 0.9}, {})), "no metric in common: no agreement"


def test_signals_hold_together_and_each_failure_is_said(tmp_path):
    base = _info(tmp_path / "base.json", {"acc": 0.90}, {"acc": 0.01})
    same = _info(tmp_path / "same.json", {"acc": 0.90}, {"acc": 0.01})
    changed = BASE.replace("return np.sum(x ** 2)", "return np.sum(x ** 4)")
    found = compute("Raise the power to 4.5", BASE, changed, base, same, Rerun(missed=[7]))
    assert not found.passed and found.new_lines_ran is False and found.beyond_seed_noise is False
    assert found.numbers_in_code is False and found.pairs_changed is False
    assert len(found.problems) == 4
    good = changed.replace("return 2 * x", "return 4 * x ** 3")
    far = _info(tmp_path / "far.json", {"acc": 0.99}, {"acc": 0.01})
    assert compute("Raise the power to 4", BASE, good, base, far, Rerun(missed=[])).passed


def test_a_changed_function_that_computes_what_the_baseline_s_did_is_a_defect(tmp_path):
    base = _info(tmp_path / "base.json", {"acc": 0.90}, {"acc": 0.01})
    far = _info(tmp_path / "far.json", {"acc": 0.99}, {"acc": 0.01})
    changed = SWITCH.replace("RATE * g / (1 + t)", "RATE * g / (2 + t)")
    found = compute("shrink the step", SWITCH, changed, base, far, Rerun(missed=[], same=[("step", 4)]))
    assert found.computes_anew is False and found.new_lines_ran is True
    assert found.defects == ["step returned, and left in its arguments, what the baseline's step does at each of "
                             "the 4 calls compared: its edit computes nothing new"]
    assert compute("shrink the step", SWITCH, changed, base, far, Rerun(missed=[])).computes_anew is True
    assert compute("shrink the step", SWITCH, changed, base, far, None).computes_anew is None, "no rerun: cannot say"
    # beside a change that computes (here a new setting), such a function is reported, not a defect
    with_setting = changed.replace("RATE = 0.1", "RATE = 0.2")
    found = compute("shrink the step", SWITCH, with_setting, base, far, Rerun(missed=[], same=[("step", 4)]))
    assert found.computes_anew is False and found.defects == [] and len(found.problems) == 1


def test_a_branch_renamed_or_copied_from_another_computes_nothing_new():
    # the 1.5B model's "Polyak step size": the gd branch renamed and selected, its step as it was
    renamed = SWITCH.replace('if OPTIMIZER == "gd":', 'if OPTIMIZER == "polyak":')
    assert renamed_branches(SWITCH, renamed) == [
        "the branch 'if OPTIMIZER == 'polyak'' runs the baseline's 'if OPTIMIZER == 'gd'' branch as it was: "
        "a new name on existing code"]
    copied = SWITCH.replace("    else:\n", '    elif OPTIMIZER == "polyak":\n        x = x - RATE * g\n    else:\n')
    assert len(renamed_branches(SWITCH, copied)) == 1, "a copy of the gd branch under a new name"
    new_step = copied.replace('"polyak":\n        x = x - RATE * g', '"polyak":\n        x = x - g / (g @ g)')
    assert renamed_branches(SWITCH, new_step) == [], "a new branch with its own step"
    guarded = SWITCH.replace('if OPTIMIZER == "gd":', 'if OPTIMIZER == "gd" and t > 10:')
    assert renamed_branches(SWITCH, guarded) == [], "a changed condition is not a renamed branch"
    selected = SWITCH.replace('OPTIMIZER = "adam"', 'OPTIMIZER = "gd"')
    assert renamed_branches(SWITCH, selected) == [], "selecting an existing branch by its setting"
    found = compute("use the Polyak step", SWITCH, renamed, _missing(), _missing(), Rerun(missed=[]))
    assert found.computes_anew is False and len(found.defects) == 1


SEEDED = '''import numpy as np

NOISE = 0.1


def noisy(x, rng):
    return x + rng.normal(0, NOISE, x.shape)


def train(seed):
    rng = np.random.default_rng(seed)
    return noisy(np.zeros(3), rng).sum()
'''


def test_new_draws_from_a_global_or_unseeded_generator_are_a_defect_where_the_baseline_seeds_its_own(tmp_path):
    global_draw = SEEDED.replace("x + rng.normal(0, NOISE, x.shape)", "x * np.random.uniform(0.8, 1.2)")
    (found,) = unseeded_draws(SEEDED, global_draw)
    assert found.startswith("line 7 draws from the global generator (np.random.uniform)")
    assert found.endswith("; noisy's parameter rng is one"), "a parameter named as the baseline's generator is"
    at_import = SEEDED.replace("NOISE = 0.1\n", "NOISE = 0.1\nFACTOR = np.random.rand()\n")
    assert len(unseeded_draws(SEEDED, at_import)) == 1, "one value drawn at import for every seed"
    assert unseeded_draws(SEEDED, at_import)[0].endswith("do not follow the seeds"), "no function, none in reach"
    unseeded = SEEDED.replace("rng.normal(0, NOISE, x.shape)", "np.random.default_rng().normal(0, NOISE, x.shape)")
    assert "makes a generator with no seed (np.random.default_rng())" in unseeded_draws(SEEDED, unseeded)[0]
    import_random = SEEDED.replace("import numpy as np\n", "import random\nimport numpy as np\n").replace(
        "x + rng.normal(0, NOISE, x.shape)", "x + random.gauss(0, NOISE)")
    assert len(unseeded_draws(SEEDED, import_random)) == 1, "the standard library's global generator too"
    kept = SEEDED.replace("rng.normal(0, NOISE, x.shape)", "rng.uniform(-NOISE, NOISE, x.shape)")
    assert unseeded_draws(SEEDED, kept) == [], "the seeded generator passed in"
    reseeded = SEEDED.replace("rng.normal(0, NOISE, x.shape)", "np.random.default_rng(7).normal(0, NOISE, x.shape)")
    assert unseeded_draws(SEEDED, reseeded) == [], "a generator made from a seed (a fixed one) is not global"
    global_baseline = SEEDED.replace("rng.normal(0, NOISE, x.shape)", "np.random.normal(0, NOISE, x.shape)")
    assert unseeded_draws(global_baseline, global_draw) is None, "a baseline that draws globally itself: cannot say"
    assert unseeded_draws(BASE, BASE.replace("2 * x", "2 * x + np.random.rand()")) is None, "no generator at all"
    traced = SEEDED.replace("import numpy as np\n", "import autograd.numpy as np\n")
    assert len(unseeded_draws(traced, traced.replace("x + rng.normal(0, NOISE, x.shape)",
                                                     "x * (np.random.rand(*x.shape) < 0.8)"))) == 1, \
        "autograd's numpy draws from numpy's global generator"
    npr = traced.replace("x + rng.normal(0, NOISE, x.shape)", "x + npr.normal(0, NOISE, x.shape)").replace(
        "import autograd.numpy as np\n", "import autograd.numpy as np\nimport autograd.numpy.random as npr\n")
    assert len(unseeded_draws(traced, npr)) == 1
    base = _info(tmp_path / "base.json", {"acc": 0.90}, {"acc": 0.01})
    far = _info(tmp_path / "far.json", {"acc": 0.99}, {"acc": 0.01})
    signals = compute("scale x by a random factor in [0.8, 1.2]", SEEDED, global_draw, base, far, Rerun(missed=[]))
    assert signals.seeded_draws is False and signals.defects == [found]
    assert compute("add noise", SEEDED, kept, base, far, Rerun(missed=[])).seeded_draws is True
