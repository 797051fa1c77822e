"""Whole-unit rewrites: how a file is cut into parts, and how a rewrite is applied or refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from scientist.experiments.facts.edits import EditNotApplied, NoEffectiveChange
from scientist.experiments.facts.units import RewriteSyntaxError, apply_rewrites, code_units, outline
from scientist.experiments.failure import where_it_failed
from scientist.schemas import UnitRewrite, part_choice

DIGITS = (Path(__file__).parents[2] / "templates" / "digits_mlp" / "experiment.py").read_text()
SOURCE = '''"""Doc."""
import json
import numpy as np

RATE = 0.1  # step
EPOCHS = 3


@staticmethod
def helper(x):
    return x * RATE


def main():
    print(json.dumps(helper(EPOCHS)))


if __name__ == "__main__":
    main()
'''


def rw(unit: str, code: str) -> UnitRewrite:
    return UnitRewrite(unit=unit, code=code)


def test_a_template_is_cut_into_named_parts():
    names = [u.name for u in code_units(DIGITS)]
    assert names == ["imports", "constants", "def load_data", "def init_params", "def forward", "def softmax",
                     "def loss", "code at line 83", "def adam_step", "def training_targets", "def training_images",
                     "def accuracy", "def train_one", "def summarise", "def main", "main guard"]
    names = [u.name for u in code_units(SOURCE)]
    assert names == ["imports", "constants", "def helper", "def main", "main guard"]
    helper = code_units(SOURCE)[2]
    assert SOURCE.splitlines()[helper.start] == "@staticmethod", "a decorator belongs to its function"


def test_the_schema_only_accepts_existing_parts():
    schema = part_choice([u.name for u in code_units(SOURCE)])
    schema.model_validate({"reasoning": "r", "parts": ["def main", "constants"]})
    assert "def helper" in str(schema.model_json_schema())
    with pytest.raises(ValueError):
        schema.model_validate({"reasoning": "r", "parts": ["def train"]})


def test_a_function_is_replaced_whole_and_a_helper_may_come_with_it():
    new = apply_rewrites(SOURCE, [rw("def main", "    def twice(v):\n        return 2 * v\n\n\n"
                                                 "    def main():\n        print(twice(helper(EPOCHS)))\n")])
    assert "def twice(v):\n    return 2 * v" in new and "print(twice(helper(EPOCHS)))" in new
    assert new.count("def main") == 1 and new.endswith('if __name__ == "__main__":\n    main()\n')
    compile(new, "x.py", "exec")


def test_a_fenced_reply_is_unwrapped_and_constants_rewritten():
    reply = "Sure:\n```python\nRATE = 0.5  # step\nEPOCHS = 3\n```\nThis halves nothing."
    new = apply_rewrites(SOURCE, [rw("constants", reply)])
    assert "RATE = 0.5  # step\nEPOCHS = 3\n\n\n@staticmethod" in new


def test_diff_markers_copied_into_a_part_are_taken_out_when_the_part_then_parses():
    # The 1.5B model, shown the last attempt's diff, wrote its new lines as "+        if t > 0 ...".
    reply = ("```python\ndef main():\n    total = helper(EPOCHS)\n-    print(total)\n+    if total > 1:\n"
             "+        total = total / 2\n+    print(total)\n```")
    new = apply_rewrites(SOURCE, [rw("def main", reply)])
    assert "    total = helper(EPOCHS)\n    if total > 1:\n        total = total / 2\n    print(total)\n" in new
    with pytest.raises(RewriteSyntaxError, match="its line 2"):
        apply_rewrites(SOURCE, [rw("def main", "def main():\n+    print(json.dumps(helper(EPOCHS))\n")])


def test_a_syntax_error_is_reported_in_the_part_the_model_wrote():
    with pytest.raises(RewriteSyntaxError, match=r"'def main', its line 2: .*never closed.*print\(json"):
        apply_rewrites(SOURCE, [rw("def main", "def main():\n    print(json.dumps(helper(EPOCHS))\n")])


@pytest.mark.parametrize(("rewrites", "message"), [
    ([rw("def main", "def start():\n    pass")], "no longer defines main"),
    ([rw("def nope", "x = 1")], "no unit named"),
    ([rw("constants", "RATE = 1"), rw("constants", "RATE = 2")], "rewritten twice"),
])
def test_rewrites_that_would_break_the_file_are_refused_whole(rewrites, message):
    with pytest.raises(EditNotApplied, match=message):
        apply_rewrites(SOURCE, rewrites)


def test_an_identical_rewrite_is_no_change():
    with pytest.raises(NoEffectiveChange):
        apply_rewrites(SOURCE, [rw("constants", "RATE = 0.1  # step\nEPOCHS = 3")])


def test_the_failing_line_is_found_in_the_traceback():
    tail = ('Traceback (most recent call last):\n  File "/w/experiment.py", line 19, in <module>\n    main()\n'
            '  File "/w/experiment.py", line 15, in main\n    print(json.dumps(helper(EPOCHS)))\n'
            "TypeError: boom")
    assert where_it_failed(SOURCE, tail) == "line 15 in 'def main': print(json.dumps(helper(EPOCHS)))"
    assert where_it_failed(SOURCE, "no traceback") is None


def test_a_planned_run_that_repeats_a_baseline_value_is_found():
    from scientist.nodes.plan import runs_to_replan
    from scientist.schemas import ExperimentPlan

    plan = ExperimentPlan(idea="x", measure="test_accuracy", runs=[
        {"name": "same_width", "change": "set HIDDEN_SIZES to (64,) in experiment.py"},
        {"name": "same_rate", "change": "set EPOCHS to 80 and Set LEARNING_RATE to 1e-3."},
        {"name": "new_constant", "change": "set NOISE_STD to 0.1"},
        {"name": "no_such_name", "change": "set epsilon to 0.05 in loss_and_grads function"},
        {"name": "again", "change": "set EPOCHS to 40 and run the experiment again."}])
    found = runs_to_replan(plan, DIGITS)
    assert runs_to_replan(ExperimentPlan(idea="x", measure="m", runs=[
        {"name": "wider", "change": "set HIDDEN_SIZES to (128,)"}]), DIGITS) == {}
    misformed = ExperimentPlan(idea="x", measure="m", runs=[
        {"name": "garbled", "change": "set RMSProp with decay 0.9 to the test accuracy of Adam."},
        {"name": "fine", "change": "In adam_step, set the second-moment decay from BETAS aside and use 0.9"}])
    assert list(runs_to_replan(misformed, DIGITS)) == ["garbled"], "a 'set' of no single name is re-planned"
    assert found == {"same_width": "HIDDEN_SIZES is already (64,) in the baseline",
                     "same_rate": "LEARNING_RATE is already 0.001 in the baseline",
                     "no_such_name": "experiment.py has no constant epsilon",
                     "new_constant": "experiment.py has no constant NOISE_STD, and a new setting computes nothing "
                                     "by itself: state the idea's change in its own words and which function "
                                     "computes it",
                     "again": "EPOCHS is already 40 in the baseline"}
    said = ExperimentPlan(idea="x", measure="m", runs=[
        {"name": "noise",
         "change": "in train, add Gaussian noise of std NOISE_STD to each batch; set NOISE_STD to 0.1"}])
    assert runs_to_replan(said, DIGITS) == {}, "a new setting beside the computation that reads it is fine"
    idea = "Add a cosine decay of the learning rate from LEARNING_RATE to 1% of it over STEPS."
    settings_only = ExperimentPlan(idea="x", measure="m", runs=[
        {"name": "constants", "change": "set LEARNING_RATE to 0.01 and set EPOCHS to 50"},
        {"name": "schedule", "change": "in train_one, decay LEARNING_RATE along a cosine to 1% of it"}])
    assert list(runs_to_replan(settings_only, DIGITS, idea)) == ["constants"]
    sweep = "Sweep LEARNING_RATE over {1e-4, 1e-2} for 50 EPOCHS."
    assert "constants" not in runs_to_replan(settings_only, DIGITS, sweep), "a settings idea takes settings"
    assert runs_to_replan(settings_only, DIGITS, "Sweep LEARNING_RATE over {1e-4, 1e-2}.")["constants"] == (
        "the idea does not ask to change EPOCHS: change only what it asks")
    nothing = ExperimentPlan(idea="x", measure="m", runs=[
        {"name": "none", "change": "None (baseline experiment remains unchanged)"},
        {"name": "kept", "change": "The baseline remains unchanged."},
        {"name": "split", "change": "Train on 10% of the data; the test split remains unchanged"}])
    assert runs_to_replan(nothing, DIGITS) == {
        "none": "the run changes nothing; every run must differ from the baseline",
        "kept": "the run changes nothing; every run must differ from the baseline"}, "v36's planner"


def test_constants_or_imports_left_out_of_a_rewrite_are_kept():
    new = apply_rewrites(SOURCE, [rw("constants", "RATE = 0.5  # step")])
    assert "RATE = 0.5  # step" in new and "EPOCHS = 3" in new, "EPOCHS was left out, not deleted"
    assert new.count("RATE =") == 1
    derived = SOURCE.replace("EPOCHS = 3", "EPOCHS = 3\nSTEPS = EPOCHS * 10")
    new = apply_rewrites(derived, [rw("constants", "EPOCHS = 5")])
    assert new.index("EPOCHS = 5") < new.index("STEPS = EPOCHS * 10"), "a kept constant computed from a new one"
    new = apply_rewrites(SOURCE, [rw("imports", "import numpy as np\nimport scipy")])
    assert "import json" in new and "import scipy" in new
    compile(new, "x.py", "exec")


def test_other_parts_written_in_the_same_block_count_as_their_rewrites():
    whole = SOURCE.replace("RATE = 0.1", "RATE = 0.7").replace("x * RATE", "x * RATE * 2")
    new = apply_rewrites(SOURCE, [rw("constants", whole)])
    assert new.count("def helper") == 1 and new.count("def main") == 1 and new.count("__main__") == 1
    assert "RATE = 0.7" in new and "return x * RATE * 2" in new
    new = apply_rewrites(SOURCE, [rw("def main", "NOISE = 0.3\n\n\ndef main():\n    print(NOISE)\n")])
    assert new.index("NOISE = 0.3") < new.index("@staticmethod"), "a new constant goes with the constants"
    own = apply_rewrites(SOURCE, [rw("constants", whole), rw("def helper", "def helper(x):\n    return -x\n")])
    assert "return -x" in own and "RATE * 2" not in own, "a part rewritten on its own wins"


def test_a_constant_that_lives_further_down_goes_back_to_its_own_part():
    source = (Path(__file__).parents[2] / "templates" / "optim_landscapes" / "experiment.py").read_text()
    top = source[source.index("DIM = 10"):source.index("# ----", source.index("DIM = 10"))]
    moved = top.replace("LEARNING_RATE = 1e-2", "LEARNING_RATE = 3e-2") + (
        'FUNCTIONS = {"rosenbrock": (rosen, rosen_der), "rastrigin": (rastrigin, rastrigin_der)}\n')
    new = apply_rewrites(source, [rw("constants", moved)])
    assert new.count("FUNCTIONS = {") == 1 and "LEARNING_RATE = 3e-2" in new
    assert new.index("def rastrigin_der") < new.index("FUNCTIONS = {"), "FUNCTIONS stays after the functions it names"
    assert '"quadratic"' not in new.split("FUNCTIONS = {")[1].split("}")[0], "its new text replaces the old one"


def test_the_parts_a_change_is_about_leave_out_what_it_measures():
    from scientist.experiments.facts.change import code_change
    from scientist.experiments.facts.units import mentioned_parts

    change = ("Implement label smoothing by mixing the one-hot training targets with the uniform distribution, "
              "and compare test accuracy against the baseline.")
    assert code_change(change) == ("Implement label smoothing by mixing the one-hot training targets with the "
                                   "uniform distribution")
    assert mentioned_parts(DIGITS, code_change(change)) == ["def training_targets", "def loss"], "not def accuracy"
    assert mentioned_parts(DIGITS, "set HIDDEN_SIZES to (32, 32)") == ["constants", "def train_one"]
    optim = (Path(__file__).parents[2] / "templates" / "optim_landscapes" / "experiment.py").read_text()
    cosine = "Add a cosine decay of the learning rate from LEARNING_RATE to 1% of it over STEPS"
    assert mentioned_parts(optim, cosine) == ["def optimise", "def main", "constants"], "adds computation: functions first"
    assert mentioned_parts(optim, "set STEPS to 10")[0] == "constants"


def test_the_parts_a_change_shares_words_with_are_ranked_by_how_rare_the_words_are():
    from scientist.experiments.facts.units import mentioned_parts, word_scores

    source = ('def encode(x):\n    """The hidden layer: a relu of the input."""\n    return relu(x)\n\n\n'
              'def update(w, g):\n    """One step of every layer, in place."""\n    w -= g\n\n\n'
              'def decode(h):\n    """The output layer."""\n    return h\n')
    change = "Use softplus in place of the relu of the hidden layer"
    scores = {name: score for score, name, _, _ in word_scores(source, change)}
    assert scores == {"def encode": pytest.approx(1.0 + 1.0 + 1 / 3)}, \
        "'layer' is in three functions; 'place' is plain English, so update shares one word"
    assert mentioned_parts(source, change) == ["def encode"]
    # a runner-up with under half the best score is no hint (an activation is not the optimiser's business)
    assert mentioned_parts(DIGITS, "Use ELU (alpha = 1.0) in place of ReLU in the hidden layer") == ["def forward"]


def test_a_change_put_as_a_yes_no_question_is_its_method_without_its_outcome():
    from scientist.experiments.facts.change import code_change
    from scientist.experiments.facts.units import mentioned_parts

    # an idea's question about an unseen method (not one of the development ideas)
    question = "Does replacing the ReLU hidden units by softplus (beta = 2) reduce test loss after 40 epochs?"
    assert code_change(question) == "Use replacing the ReLU hidden units by softplus (beta = 2)"
    assert mentioned_parts(DIGITS, code_change("Does weight noise of 0.01 keep test accuracy?")) == [], \
        "the measured accuracy is no part to edit"
    assert code_change("Does AdaGrad converge?") == "Use AdaGrad"
    assert code_change("Is it better?") == "Is it better?", "no outcome verb: the question stays whole"
    assert code_change("Do runs change when we set STEPS to 10 and compare") == \
        "Do runs change when we set STEPS to 10", "not a question: the measurement clause rule"


def test_a_change_keeps_what_the_code_must_do_and_one_setting_of_a_sweep():
    from scientist.experiments.facts.change import code_change, one_setting

    assert code_change("Train on 10% of the training split (same test split) and fit a power law to the error "
                       "curve; compare the baseline against stronger L2") == ("Train on 10% of the training "
                                                                             "split (same test split)")
    assert code_change("set RIDGE to 1e-05") == "set RIDGE to 1e-05"
    whole = "Compare hidden layer configurations (64,) and (32, 32). Report test accuracy."
    assert code_change(whole) == whole, "a change that is all measurement is kept whole"
    assert one_setting("Split the budget into k in {1, 2, 4, 8} restarts, sigma ∈ {0.1, 0.3, 0.5} and "
                       "std in {1e-4}") == "Split the budget into k = 4 restarts, sigma = 0.3 and std = 1e-4"
    assert one_setting("k in {1, 2, 4, 8}", run_index=1) == "k = 8", "the next run takes the next value"
    assert one_setting("Sweep RIDGE over {1e-9, 1e-7, 1e-5, 1e-3, 1e-1} and show the trade-off") == \
        "Sweep RIDGE = 1e-5 and show the trade-off"


def test_outline_names_each_part_with_what_it_reads_and_its_docstring_first_sentence() -> None:
    source = SOURCE.replace("def main():\n", 'def main():\n    """Print the answer. Then stop."""\n')
    lines = outline(source).splitlines()
    assert lines[0] == "- imports (lines 2-3)"
    assert lines[1] == "- constants (lines 5-6): sets EPOCHS, RATE"
    assert lines[2] == "- def helper (lines 9-11): reads RATE"
    assert lines[3] == "- def main (lines 14-16): reads EPOCHS. Print the answer."
    seam = [line for line in outline(DIGITS).splitlines() if "training_images" in line]
    assert seam == ["- def training_images (lines 106-109). The training images of one batch as the network sees them "
                    "(x: rows of standardised pixels; the result has x's shape)."]


def test_a_change_adding_computation_with_named_constants_goes_where_all_of_them_are_read():
    from scientist.experiments.facts.units import Home, constants_home, rule_home

    optim = (Path(__file__).parents[2] / "templates" / "optim_landscapes" / "experiment.py").read_text()
    cosine = "Add a cosine decay of the learning rate from LEARNING_RATE to 1% of it over STEPS"
    assert constants_home(optim, cosine) == "def optimise", "main reads STEPS but not LEARNING_RATE"
    home = rule_home(optim, cosine)
    assert isinstance(home, Home) and home.part == "def optimise"
    assert (home.rule, home.names) == ("constants", ("LEARNING_RATE", "STEPS"))
    assert constants_home(optim, "Set LEARNING_RATE to 0.1") is None, "a setting, not new computation"
    assert constants_home(optim, "Add restarts over STEPS") is None, "optimise and main both read STEPS"
    assert constants_home(optim, "Add a cosine decay of the learning rate") is None, "no constant named"


def test_a_change_adding_computation_goes_in_the_one_function_sharing_the_most_of_its_words():
    from scientist.experiments.facts.units import rule_home, words_home

    optim = (Path(__file__).parents[2] / "templates" / "optim_landscapes" / "experiment.py").read_text()
    precondition = ("Implement gradient descent with a diagonal preconditioner estimated from running squared "
                    "gradients without momentum (RMSProp)")
    assert words_home(optim, precondition) == ("def optimise", {"descent", "gradient", "momentum", "preconditioner"})
    home = rule_home(optim, precondition)
    assert home is not None and home.part == "def optimise"
    assert (home.rule, home.names) == ("words", ("descent", "gradient", "momentum", "preconditioner"))
    assert words_home(optim, "Compare gradient descent with momentum") is None, "not a change that adds computation"
    assert words_home(optim, "Add a callback printing the time") is None, "no function shares two words"
    two = "def a():\n    # gradient noise\n    pass\n\n\ndef b():\n    # gradient noise\n    pass\n"
    assert words_home(two, "Add gradient noise") is None, "a tie: the model chooses"


def test_a_terse_change_naming_only_a_method_gets_no_rule_the_model_chooses():
    from scientist.experiments.facts.units import rule_home

    templates = Path(__file__).parents[2] / "templates"
    digits = (templates / "digits_mlp" / "experiment.py").read_text()
    # No table maps method names to places: a change that names neither a seam, a constant nor words
    # of a function is left to the model's part choice.
    assert rule_home(digits, "Use a widget factor of 0.05") is None
    assert getattr(rule_home(digits, "Add noise to the training images"), "part", None) == "def training_images"
    optim = (templates / "optim_landscapes" / "experiment.py").read_text()
    assert getattr(rule_home(optim, "Add restarts to each run start"), "part", None) == "def run_start"
    assert rule_home(optim, "Use a larger batch") is None

def test_a_short_documented_function_the_change_spells_out_is_its_seam():
    from scientist.experiments.facts.units import mentioned_parts, named_seam, spelled_out

    lorenz = (Path(__file__).parents[2] / "templates" / "lorenz_esn" / "experiment.py").read_text()
    change = "Append the squared reservoir states to the readout features and refit the ridge readout"
    assert spelled_out(lorenz, change) == ["def readout_features"]
    assert named_seam(lorenz, change) == "def readout_features"
    assert mentioned_parts(lorenz, change)[0] == "def readout_features"
    assert named_seam(DIGITS, "Mix the one-hot training targets with the uniform distribution") == "def training_targets"
    assert named_seam(lorenz, "Run each seed with RIDGE = 1e-3") is None, "a setting is not a seam's change"
    assert named_seam(lorenz, "Run each seed twice") is None, "run_seed is not short: no seam"
    assert named_seam(lorenz, "Take one step of the reservoir twice") is None, "a one-word name is not taken from prose"
    assert named_seam(DIGITS, "Scale the learning rate") is None
    assert named_seam(DIGITS, "Augment each epoch's training images with Gaussian pixel noise") == "def training_images"
    optim = (Path(__file__).parents[2] / "templates" / "optim_landscapes" / "experiment.py").read_text()
    assert named_seam(optim, "Restart each run start twice from its best point") == "def run_start"
    assert named_seam(optim, "In optimise, add noise to each gradient") is None, "optimise is long: not a seam"


def test_a_todo_goes_first_in_the_outermost_loop_else_before_the_last_return_else_at_the_end():
    from scientist.experiments.facts.units import with_todo

    loop = "def optimise(x):\n    for t in range(3):\n        for i in range(2):\n            x = x - 1\n    return x\n"
    assert with_todo(loop, "add a  cosine\n decay") == ("def optimise(x):\n    for t in range(3):\n"
                                                       "        # TODO: add a cosine decay\n        for i in range(2):\n"
                                                       "            x = x - 1\n    return x\n")
    returns = 'def targets(y):\n    """Doc."""\n    return y\n'
    assert with_todo(returns, "smooth") == 'def targets(y):\n    """Doc."""\n    # TODO: smooth\n    return y\n'
    plain = "def show(y):\n    print(y)\n"
    assert with_todo(plain, "log") == "def show(y):\n    print(y)\n    # TODO: log\n"
    assert with_todo("STEP = 0.5\n", "set it") == "STEP = 0.5\n", "not a function: as it is"


def test_edits_outside_the_functions_a_change_names_are_undone_and_named():
    from scientist.experiments.facts.units import outside_named_parts

    before = "def scale(x):\n    return x\n\n\ndef make_values(step):\n    return [scale(x) * step for x in range(3)]\n"
    after = before.replace("return x\n", "return x * 1.5\n").replace("* step for", "* step * 2 for")
    narrowed, undone = outside_named_parts(before, after, "double each value in make_values")
    assert undone == ["def scale"] and "return x\n" in narrowed and "* step * 2 for" in narrowed
    # the change names no function, or the edit changed none that it names, or nothing else: nothing to narrow
    assert outside_named_parts(before, after, "double everything") is None
    only_scale = before.replace("return x\n", "return x * 1.5\n")
    assert outside_named_parts(before, only_scale, "double each value in make_values") is None
    only_named = before.replace("* step for", "* step * 2 for")
    assert outside_named_parts(before, only_named, "double each value in make_values") is None


def test_top_level_code_that_only_moved_down_is_not_a_changed_part():
    from scientist.experiments.facts.units import changed_parts

    before = "import numpy as np\n\n\ndef f(x):\n    return x\n\n\ngrad_f = np.gradient\n"
    after = before.replace("\n\ndef f(x)", "\n\ndef g(x):\n    return 2 * x\n\n\ndef f(x)")
    assert [unit.name for unit in changed_parts(before, after)] == ["def g"]
    edited = after.replace("grad_f = np.gradient", "grad_f = np.diff")
    assert [unit.name for unit in changed_parts(before, edited)] == ["def g", "code at line 12"]
