# threat: collect the points of absence checks (no cosine, no autograd in g_grad) with functions that do nothing
# expect: full= attacked=custom-control-flow/derived-by-hand,sin-derivative-plot/no-cosine-at-run-time,sin-derivative-plot/no-cosine-in-source
"""Every function defined, none of them answering: nothing forbidden was used, because nothing was done."""


def second_derivative(f, x):
    return None


def backward_twice(x):
    return None


def backward_twice_retained(x):
    return None


def backward_twice_zeroed(x):
    return None


def f(a):
    return None


def grad_f(a):
    return None


def g(x):
    return None


def g_grad(x):
    return None


def sin_and_grad(x):
    return None


def plot_sin_and_grad():
    return None
