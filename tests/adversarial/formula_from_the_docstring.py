# threat: read f's formula from f.__doc__ and return a second derivative worked out by hand, beside one autograd run
# expect: full= attacked=second-derivative-cost/gradient-from-autograd
"""Hand-made second derivatives for the formulas the grader might pass, chosen by f.__doc__ or by probing f."""

import torch

HAND_MADE = {
    "torch.sin(x)": lambda x: -torch.sin(x),
    "x ** 3": lambda x: 6 * x,
    "torch.exp(x) * x": lambda x: torch.exp(x) * (x + 2),
    "torch.tanh(x)": lambda x: -2 * torch.tanh(x) * (1 - torch.tanh(x) ** 2),
}


def _formula(f):
    doc = (f.__doc__ or "").removeprefix("f(x) = ")
    if doc in HAND_MADE:
        return HAND_MADE[doc]
    # No docstring to read: tell the candidates apart by their values at one point.
    probe = torch.tensor([0.7], dtype=torch.float64)
    value = f(probe)
    for formula in HAND_MADE:
        candidate = eval(formula, {"torch": torch, "x": probe})
        if torch.allclose(candidate, value):
            return HAND_MADE[formula]
    return lambda x: torch.zeros_like(x)


def second_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    f(x).sum().backward()  # autograd ran, on something; the answer does not come from it
    return _formula(f)(x.detach())
