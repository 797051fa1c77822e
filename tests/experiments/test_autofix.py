"""Mechanical repairs made before code runs: only where the code would certainly crash, and so that it runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np

from scientist.experiments.checks.names import read_before_bound
from scientist.experiments.repairs import (
    MARK,
    adopt_renamed_copies,
    alias_shadowed_imports,
    default_new_parameters,
    define_values_the_change_gives,
    drop_unread_imports,
    localise_constants,
    move_late_updates,
    return_the_last_value,
)


def repair(source: str, before: str, change: str = "") -> tuple[str, list[str]]:
    """The mechanical repairs of the pass pipeline made before the checks, in its order."""
    from scientist.experiments.passes import PASSES, PassContext, Repair, run_passes

    made = run_passes(source, PassContext(baseline=before, change=change),
                      tuple(p for p in PASSES if isinstance(p, Repair) and p.name != "drop_unread_imports"))
    return made.code, [f.note for f in made.fired]

SCHEDULE = textwrap.dedent('''\
    LEARNING_RATE = 0.1
    STEPS = 4


    def optimise(x):
        """Gradient steps on x**2."""
        for t in range(STEPS):
            x = x - LEARNING_RATE * 2 * x
            if t == 1:
                LEARNING_RATE *= 0.5  # the model's step decay
        return x


    print(optimise(1.0), LEARNING_RATE)
''')


def run(source: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=180)  # a hang guard: scipy imports slowly on a busy machine


def test_a_function_that_changes_a_module_constant_works_on_a_local_copy() -> None:
    assert "UnboundLocalError" in run(SCHEDULE).stderr
    repaired, notes = localise_constants(SCHEDULE)
    assert notes == ["optimise assigns the module's LEARNING_RATE and reads it before that (an UnboundLocalError): "
                     "it now works on a local copy, learning_rate"]
    assert f'    """Gradient steps on x**2."""\n    learning_rate = LEARNING_RATE  {MARK}\n' in repaired
    assert "x = x - learning_rate * 2 * x" in repaired and "learning_rate *= 0.5" in repaired
    assert read_before_bound(repaired) == []
    result = run(repaired)
    assert result.returncode == 0, result.stderr
    x = 1.0
    for rate in (0.1, 0.1, 0.05, 0.05):
        x -= rate * 2 * x
    assert result.stdout.split() == [repr(x), "0.1"], "the schedule acts inside the function; the constant is kept"


def test_a_local_read_first_that_differs_only_in_case_from_a_module_variable_starts_as_its_copy() -> None:
    # The 1.5B model's cosine decay, two attempts running: learning_rate *= np.cos(...) beside LEARNING_RATE.
    source = SCHEDULE.replace("            LEARNING_RATE *= 0.5  # the model's step decay",
                              "            learning_rate *= 0.5\n        x = x - learning_rate * x")
    assert "UnboundLocalError" in run(source).stderr
    repaired, notes = localise_constants(source)
    assert notes == ["optimise reads learning_rate before giving it a value, and the module's LEARNING_RATE differs "
                     "only in case: learning_rate now starts as a local copy of LEARNING_RATE"]
    assert f'    """Gradient steps on x**2."""\n    learning_rate = LEARNING_RATE  {MARK}\n' in repaired
    assert read_before_bound(repaired) == [] and run(repaired).returncode == 0
    ambiguous = source.replace("STEPS = 4\n", "STEPS = 4\nLearning_Rate = 0.3\n")
    assert localise_constants(ambiguous) == (ambiguous, []), "two candidates: no guess"


def test_code_that_would_run_is_left_as_it_is() -> None:
    fine = SCHEDULE.replace("    for t in range(STEPS):\n", "    LEARNING_RATE = 0.2\n    for t in range(STEPS):\n")
    assert localise_constants(fine) == (fine, [])
    assert localise_constants("def f(:\n") == ("def f(:\n", [])


def test_the_copy_takes_a_name_nothing_else_uses_and_each_name_gets_one() -> None:
    source = SCHEDULE.replace("STEPS = 4\n", "STEPS = 4\nlearning_rate = 3\n").replace(
        "            LEARNING_RATE *= 0.5", "            LEARNING_RATE *= 0.5\n            STEPS += 0")
    repaired, notes = localise_constants(source)
    assert [note.rsplit(" ", 1)[1] for note in notes] == ["learning_rate_2", "steps"]
    assert read_before_bound(repaired) == []
    assert run(repaired).returncode == 0


def test_an_inner_scope_that_binds_the_name_itself_is_not_touched() -> None:
    source = SCHEDULE.replace("    return x\n", "    return x + sum(LEARNING_RATE for LEARNING_RATE in [0.0])\n")
    assert localise_constants(source) == (source, [])


def test_offsets_are_bytes_on_a_line_with_other_scripts() -> None:
    source = SCHEDULE.replace("x = x - LEARNING_RATE * 2 * x", 'x = x - LEARNING_RATE * 2 * x if "é" else x')
    repaired, _ = localise_constants(source)
    assert 'x = x - learning_rate * 2 * x if "é" else x' in repaired
    assert run(repaired).returncode == 0


def test_a_name_that_differs_only_in_case_from_one_module_variable_is_that_variable() -> None:
    source = "ETA = 0.1\n\n\ndef noise(t):\n    return eta / (1 + t) ** 0.55\n\n\nprint(noise(1))\n"
    repaired, notes = repair(source, before=source)
    assert notes == ["eta is not defined; the module's ETA is: it now reads ETA"]
    assert "return ETA / (1 + t) ** 0.55" in repaired and run(repaired).returncode == 0
    ambiguous = source.replace("ETA = 0.1\n", "ETA = 0.1\nEta = 0.2\n")
    assert repair(ambiguous, before=ambiguous) == (ambiguous, []), "two candidates: no guess"
    local_elsewhere = source + "\n\ndef other(eta):\n    return eta\n"
    assert repair(local_elsewhere, before=local_elsewhere) == (local_elsewhere, []), "a local of another function: put there, not mistyped"


NOISY = textwrap.dedent('''\
    import numpy as np


    def optimise(g):
        norm = np.linalg.norm(g)
        if norm > 1:
            g = g / norm
        return g


    def jitter(x):
        return x


    print(optimise(np.ones(3) * 5), jitter(1.0))
''')


def test_an_import_a_local_hides_is_renamed_where_it_is_meant() -> None:
    # The 1.5B model's gradient noise: 'numpy.float64' object has no attribute 'rvs', three attempts running.
    source = NOISY.replace("import numpy as np\n", "import numpy as np\nfrom scipy.stats import norm\n").replace(
        "    return g\n", "    return g + norm.rvs(0, 0.1, size=g.shape)\n").replace(
        "    return x\n", "    return x + norm.rvs(0, 0.1)\n")
    assert run(source).returncode != 0
    repaired, notes = repair(source, before=NOISY)
    assert notes == ["norm is imported, but a function's own local norm hides it there: the import is now stats_norm, "
                     "and the uses of the import read stats_norm"]
    assert "from scipy.stats import norm as stats_norm\n" in repaired
    assert "    norm = np.linalg.norm(g)\n        g = g / norm\n" not in repaired  # the local stays the local
    assert "g = g / norm\n" in repaired and "return g + stats_norm.rvs(0, 0.1, size=g.shape)" in repaired
    assert "return x + stats_norm.rvs(0, 0.1)" in repaired
    assert run(repaired).returncode == 0
    used_before = NOISY.replace("        g = g / norm\n", "        g = g / norm.real\n")
    assert alias_shadowed_imports(used_before, source.replace("g / norm\n", "g / norm.real\n"))[1] == [], \
        "the baseline used its local as an object: which use means the import is not plain"
    assert alias_shadowed_imports(NOISY, NOISY) == (NOISY, [])


def test_a_new_import_nothing_reads_is_removed() -> None:
    # The 1.5B model's RMSProp imported rmsprop, which scipy.optimize does not have, and never used it.
    before = "import numpy as np\nfrom scipy.optimize import rosen, rosen_der\n\n\ndef f(x):\n    return rosen(x) + rosen_der(x)\n"
    after = before.replace("rosen, rosen_der\n", "rosen, rosen_der, rmsprop\nimport math\nimport json; K = 2\n")
    fixed, notes = drop_unread_imports(before, after)
    assert fixed == before.replace("rosen, rosen_der\n", "rosen, rosen_der\nimport json; K = 2\n"), \
        "a statement sharing its line is left alone"
    assert notes == ["the new import of rmsprop is removed: nothing reads it",
                     "the new import of math is removed: nothing reads it"]
    used = after.replace("return rosen(x)", "return math.pi * rmsprop(x) * rosen(x)")
    assert drop_unread_imports(before, used) == (used, []), "imports something reads stay"
    assert drop_unread_imports(before, before) == (before, []), "the baseline's own imports are never touched"


DIGITS_TARGETS = '''import numpy as np


def training_targets(y):
    """The training targets for labels y: one-hot rows."""
    return np.eye(10)[y]


def loss(y):
    return training_targets(y).sum()
'''


def test_a_function_calling_itself_with_no_way_to_stop_calls_a_copy_of_the_baselines() -> None:
    # The 1.5B model's label smoothing, two attempts running: a RecursionError.
    smoothed = DIGITS_TARGETS.replace(
        "    return np.eye(10)[y]\n",
        "    epsilon = 0.1\n    return (1 - epsilon) * training_targets(y) + epsilon / 10\n")
    fixed, notes = repair(smoothed, DIGITS_TARGETS)
    assert notes == ["training_targets called itself with no way to stop (a RecursionError): it meant the baseline's "
                     "training_targets, now a copy named training_targets_baseline that it calls"]
    assert "return (1 - epsilon) * training_targets_baseline(y) + epsilon / 10" in fixed
    assert "def training_targets_baseline(y):\n    \"\"\"The training targets for labels y: one-hot rows.\"\"\"\n" \
           "    return np.eye(10)[y]\n" in fixed
    assert "return training_targets(y).sum()" in fixed, "other callers still call the new function"
    namespace: dict = {}
    exec(compile(fixed, "experiment.py", "exec"), namespace)
    assert np.isclose(namespace["loss"](np.arange(3)), 3.0), "each smoothed row still sums to 1"


def test_a_recursion_with_a_way_out_is_left_alone() -> None:
    base_case = DIGITS_TARGETS.replace(
        "    return np.eye(10)[y]\n",
        "    if len(y) <= 1:\n        return np.eye(10)[y]\n    return np.concatenate([training_targets(y[:1]), "
        "training_targets(y[1:])])\n")
    assert repair(base_case, DIGITS_TARGETS) == (base_case, [])
    branch = DIGITS_TARGETS.replace("    return np.eye(10)[y]\n",
                                    "    if y.ndim > 1:\n        return training_targets(y[0])\n    return np.eye(10)[y]\n")
    assert repair(branch, DIGITS_TARGETS) == (branch, []), "the self-call is under a condition"


OPTIMISE = '''import numpy as np

LEARNING_RATE = 0.01  # step size
STEPS = 100


def optimise(grad, x):
    for t in range(1, STEPS + 1):
        x = x - LEARNING_RATE * grad(x)
    return x
'''


def test_a_name_nothing_defines_that_the_change_gives_a_number_for_becomes_a_constant() -> None:
    # The 1.5B model, sent to make the gradient-noise change inside optimise, read ETA there and left behind
    # the constant it had written the attempt before.
    change = "Add Gaussian noise with variance eta/(1+t)^0.55 to each gradient (eta = 0.1) and measure the success rate"
    noisy = OPTIMISE.replace("        x = x - LEARNING_RATE * grad(x)\n",
                             "        g = grad(x) + np.random.normal(0, np.sqrt(ETA / (1 + t) ** 0.55), x.shape)\n"
                             "        x = x - LEARNING_RATE * g\n")
    fixed, notes = repair(noisy, OPTIMISE, change)
    assert notes == ["ETA is not defined; the change gives it: it is now a module constant, ETA = 0.1"]
    assert "STEPS = 100\nETA = 0.1  # the change's value (added by scientist)\n" in fixed
    namespace: dict = {}
    exec(compile(fixed, "experiment.py", "exec"), namespace)
    assert namespace["optimise"](lambda x: 2 * x, np.ones(3)).shape == (3,)
    assert repair(noisy, OPTIMISE, "Add Gaussian noise to each gradient")[1] == [], "no value given"
    assert repair(noisy, OPTIMISE, "eta = 0.1 or eta = 0.3")[1] == [], "two values: no one reading"
    local = noisy.replace("def optimise(grad, x):\n", "def optimise(grad, x):\n    print(ETA)\n") + \
        "\n\ndef other():\n    ETA = 0.2\n    return ETA\n"
    assert define_values_the_change_gives(local, change) == (local, []), "a local of another function: made there"


LOOP = textwrap.dedent('''\
    import numpy as np


    def optimise(x, steps=3):
        for t in range(1, steps + 1):
            g = 2 * x
            norm = np.abs(g).max()
            x = x - 0.1 * g
        return x
    ''')


def test_an_update_after_the_passs_last_use_moves_to_where_the_value_is_made():
    # the 1.5B model's gradient noise: added to g after the update had read it, and g = 2 * x replaces it
    late = LOOP.replace("        x = x - 0.1 * g\n",
                        "        x = x - 0.1 * g\n        # gradient noise\n        noise = 0.5 / t\n        g += noise\n")
    repaired, notes = move_late_updates(LOOP, late)
    assert notes == ["the new lines 10-11 changed g after the loop pass had used it, and the next pass replaced it: "
                     "they now come right after line 6, where g is made"]
    assert "        g = 2 * x\n        # moved here from after the pass's last use of g (added by scientist)\n" \
           "        # gradient noise\n        noise = 0.5 / t\n        g += noise\n        norm =" in repaired
    assert repaired.count("g += noise") == 1 and repaired.rstrip().endswith("return x")
    scope: dict = {}
    exec(compile(repaired, "experiment.py", "exec"), scope)
    assert scope["optimise"](np.zeros(2)).tolist() != [0.0, 0.0], "the noise now reaches x"
    assert repair(late, LOOP)[0] == repaired


def test_an_update_that_reads_what_the_lines_it_would_jump_set_stays():
    late = LOOP.replace("        x = x - 0.1 * g\n", "        x = x - 0.1 * g\n        g += norm\n")
    assert move_late_updates(LOOP, late) == (late, [])
    early = LOOP.replace("        norm = np.abs(g).max()\n", "        noise = 1.0\n        norm = np.abs(g).max() + noise\n") \
        .replace("        x = x - 0.1 * g\n", "        x = x - 0.1 * g\n        noise = 2.0\n        g += noise\n")
    assert move_late_updates(LOOP, early)[1] == [], "a line it jumps reads the noise it sets"


def test_a_changed_copy_of_a_function_under_a_new_name_that_nothing_calls_replaces_it():
    # The 1.5B model gave optimise back as it was and wrote optimise_with_diagonal_preconditioner beside it.
    copy = LOOP.replace("def optimise(x, steps=3):", "def optimise_scaled(x, steps=3):").replace(
        "x - 0.1 * g", "x - 0.1 * g / (1 + norm)")
    source = LOOP + "\n\n" + copy
    repaired, notes = adopt_renamed_copies(LOOP, source)
    assert notes == ["optimise_scaled is a changed copy of optimise that nothing called, and optimise was left as "
                     "it was: it now replaces optimise"]
    assert repaired.count("def ") == 1 and "x - 0.1 * g / (1 + norm)" in repaired
    assert repaired.startswith("import numpy as np\n\n\ndef optimise(x, steps=3):  # optimise_scaled, the new version")
    called = source + "\n\nprint(optimise_scaled(1.0))\n"
    assert adopt_renamed_copies(LOOP, called) == (called, []), "a copy something calls is a function of its own"
    other = LOOP + "\n\n" + copy.replace("(x, steps=3)", "(x, g, steps=3)")
    assert adopt_renamed_copies(LOOP, other) == (other, []), "other parameters"
    changed = source.replace("norm = np.abs(g).max()\n        x", "norm = np.abs(g).sum()\n        x", 1)
    assert adopt_renamed_copies(LOOP, changed) == (changed, []), "the original was changed too"


READOUT = textwrap.dedent('''\
    import numpy as np


    def readout_features(states):
        """The features the readout is fitted on."""
        return states


    print(readout_features(np.ones((3, 2))).shape)
''')


def test_a_function_that_lost_its_return_and_ends_computing_one_value_returns_it():
    # v34: the 1.5B model replaced `return states` with the method card's line and stopped there.
    lost = READOUT.replace("    return states\n", "    features = np.concatenate([states, states**2], axis=-1)\n")
    repaired, notes = return_the_last_value(READOUT, lost)
    assert repaired == READOUT.replace("    return states\n", "    features = np.concatenate([states, states**2], axis=-1)\n"
                                       "    return features\n")
    assert notes == ["readout_features no longer returned its value and ended by computing features: it now "
                     "returns features"]
    assert run(repaired).stdout.strip() == "(3, 4)"
    assert repair(lost, READOUT)[0] == repaired, "part of every repair"
    printed = READOUT.replace("    return states\n", "    print(states)\n")
    assert return_the_last_value(READOUT, printed) == (printed, []), "no value to return"
    unused = READOUT.replace("print(readout_features(np.ones((3, 2))).shape)", "readout_features(np.ones((3, 2)))")
    assert return_the_last_value(unused, unused.replace("    return states\n", "    features = states\n"))[1] == [], \
        "no caller uses the value: nothing is lost"


TARGETS = textwrap.dedent('''\
    import numpy as np


    def training_targets(y):
        """One-hot rows."""
        return np.eye(3)[y]


    print(training_targets(np.array([0, 2])).sum())
''')


def test_a_new_parameter_no_call_passes_takes_the_value_the_change_gives_as_its_default():
    # v36: `def training_targets(y, epsilon):` while main kept calling training_targets(y_train), twice.
    new = TARGETS.replace("def training_targets(y):", "def training_targets(y, epsilon):").replace(
        "    return np.eye(3)[y]\n", "    return (1 - epsilon) * np.eye(3)[y] + epsilon / 3\n")
    change = "Implement label smoothing (epsilon = 0.05), and compare test accuracy"
    repaired, notes = default_new_parameters(TARGETS, new, change)
    assert "def training_targets(y, epsilon=0.05):" in repaired
    assert notes == ["training_targets's new parameter epsilon had no default and no call passes it; the change "
                     "gives it: it now defaults to 0.05"]
    assert float(run(repaired).stdout) == 2.0
    assert repair(new, TARGETS, change)[0] == repaired, "part of every repair"
    assert default_new_parameters(TARGETS, new, "Implement label smoothing")[1] == [], "no value given"
    passed = new.replace("training_targets(np.array([0, 2]))", "training_targets(np.array([0, 2]), 0.1)")
    assert default_new_parameters(TARGETS, passed, change)[1] == [], "a call passes it"
    before_y = new.replace("def training_targets(y, epsilon):", "def training_targets(epsilon, y):")
    assert default_new_parameters(TARGETS, before_y, change)[1] == [], "not a trailing parameter"


ADAM = textwrap.dedent('''\
    import numpy as np

    LEARNING_RATE = 1e-2  # step size
    BETAS = (0.9, 0.999)


    def optimise(x, grad, steps):
        m = v = np.zeros_like(x)
        for t in range(1, steps + 1):
            g = grad(x)
            m = BETAS[0] * m + (1 - BETAS[0]) * g
            v = BETAS[1] * v + (1 - BETAS[1]) * g**2
            x = x - LEARNING_RATE * m / (np.sqrt(v) + 1e-8)
        return x
    ''')
EPSILON = "Adam with the epsilon inside the square root, sqrt(v + 1e-8) instead of sqrt(v) + 1e-8"


def test_a_setting_the_change_neither_names_nor_gives_is_put_back_and_the_change_stays() -> None:
    from scientist.experiments.repairs import put_back_unasked_settings

    edited = (ADAM.replace("BETAS = (0.9, 0.999)", "BETAS = (0.9, 0.998)")
              .replace("(np.sqrt(v) + 1e-8)", "np.sqrt(v + 1e-8)"))
    fixed, notes = put_back_unasked_settings(ADAM, edited, EPSILON)
    assert "BETAS = (0.9, 0.999)" in fixed and "np.sqrt(v + 1e-8)" in fixed
    assert notes == ["the edit set BETAS = (0.9, 0.998), a setting the change neither names nor gives the value "
                     "of: it is back to the baseline's (0.9, 0.999)"]


def test_a_new_assignment_of_a_setting_inside_a_function_is_taken_out() -> None:
    from scientist.experiments.repairs import put_back_unasked_settings

    edited = ADAM.replace("        g = grad(x)\n", "        LEARNING_RATE = 1e-4  # a new rate\n        g = grad(x)\n")
    fixed, notes = put_back_unasked_settings(ADAM, edited, EPSILON)
    assert fixed.replace("\n\n", "\n").count("\n") == ADAM.replace("\n\n", "\n").count("\n")
    assert "1e-4" not in fixed and len(notes) == 1 and "optimise set LEARNING_RATE = 0.0001" in notes[0]


def test_settings_the_change_names_or_gives_and_string_settings_stay() -> None:
    from scientist.experiments.repairs import put_back_unasked_settings

    named = ADAM.replace("LEARNING_RATE = 1e-2", "LEARNING_RATE = 5e-3")
    assert put_back_unasked_settings(ADAM, named, "Does halving the learning rate help Adam?") == (named, [])
    given = ADAM.replace("BETAS = (0.9, 0.999)", "BETAS = (0.95, 0.999)")
    assert put_back_unasked_settings(ADAM, given, "Does a first-moment decay of 0.95 help?") == (given, [])
    selector = "OPTIMIZER = 'adam'\n" + ADAM
    chosen = selector.replace("'adam'", "'gd'")
    assert put_back_unasked_settings(selector, chosen, EPSILON) == (chosen, [])
    # a rate that varies during the run is computation, not a setting
    schedule = ADAM.replace("        g = grad(x)\n",
                            "        LEARNING_RATE = 1e-2 * 0.5 ** (t // 100)\n        g = grad(x)\n")
    assert put_back_unasked_settings(ADAM, schedule, EPSILON) == (schedule, [])


def test_an_edit_that_was_only_an_unasked_setting_inside_a_function_is_found_before_running() -> None:
    from scientist.experiments.passes import PassContext, run_passes
    from scientist.failures import Category

    edited = ADAM.replace("        g = grad(x)\n", "        LEARNING_RATE = 1e-4\n        g = grad(x)\n")
    made = run_passes(edited, PassContext(baseline=ADAM, change=EPSILON))
    assert made.failure is not None and made.failure.category == Category.NO_EFFECTIVE_CHANGE
    assert "neither names nor gives" in made.failure.message
    assert [f.name for f in made.fired] == ["put_back_unasked_settings", "inert_once_put_back"]
