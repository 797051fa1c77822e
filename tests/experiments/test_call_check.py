"""Calls to the file's own functions that do not fit their parameters (``call_check``)."""

from __future__ import annotations

from scientist.experiments.checks.calls import call_mismatches, lost_returns

CODE = '''
def optimise(f, grad, x0, eta):
    return f(x0) + eta


def scaled(x, factor=2.0, *, shift):
    return x * factor + shift


def main():
    a = optimise(abs, None, 1.0)
    b = optimise(abs, None, 1.0, 0.1)
    c = optimise(abs, None, x0=1.0, eta=0.1)
    d = scaled(1.0, shift=0.0)
    e = scaled(1.0, 3.0, 4.0, shift=0.0)
    g = scaled(1.0, scale=2.0, shift=0.0)
    h = scaled(1.0)
    args = (abs, None, 1.0)
    i = optimise(*args)
    return a, b, c, d, e, g, h, i
'''


def test_calls_that_do_not_fit_the_parameters_are_found_with_their_line():
    found = [(p.exception_type, p.message.split(";")[0], p.line) for p in call_mismatches(CODE)]
    assert found == [
        ("TypeError", "optimise() missing 1 required positional argument: 'eta'", 11),
        ("TypeError", "scaled() takes 2 positional arguments but 3 were given", 15),
        ("TypeError", "scaled() got an unexpected keyword argument 'scale'", 16),
        ("TypeError", "scaled() missing 1 required keyword-only argument: 'shift'", 17)]
    first = call_mismatches(CODE)[0]
    assert first.message.endswith("it is defined as optimise(f, grad, x0, eta): give a new parameter a default "
                                  "value, or pass it at every call")


def test_a_name_that_may_mean_something_else_is_left_alone():
    rebound = CODE + "\noptimise = print\n"
    assert all(not p.message.startswith("optimise()") for p in call_mismatches(rebound))
    shadowed = CODE.replace("def main():", "def main(optimise=None):")
    assert all(not p.message.startswith("optimise()") for p in call_mismatches(shadowed))
    decorated = "import functools\n\n\n@functools.cache\ndef f(x):\n    return x\n\n\nf(1, 2)\n"
    assert call_mismatches(decorated) == []


def test_a_function_that_lost_its_return_is_found_where_its_value_is_used():
    before = ("def loss_and_grads(x):\n    g = x * 2\n    return x.sum(), g\n\n\n"
              "def log(x):\n    return x\n\n\n"
              "def train(x):\n    loss, grads = loss_and_grads(x)\n    log(x)\n    return loss\n")
    after = before.replace("    return x.sum(), g\n", "    smooth = 0.9 * g\n").replace("def log(x):\n    return x",
                                                                                       "def log(x):\n    print(x)")
    (problem,) = lost_returns(before, after)
    assert (problem.exception_type, problem.line) == ("TypeError", 1), "reported at the def; log's value is unused"
    assert problem.message.startswith("loss_and_grads() no longer returns anything, and its callers use")
    assert lost_returns(before, before) == []
    generator = before.replace("    return x.sum(), g\n", "    yield x.sum(), g\n")
    assert lost_returns(before, generator) == []
