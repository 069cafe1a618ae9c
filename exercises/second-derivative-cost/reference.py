"""Reference answers for `second-derivative-cost`, computed with autograd."""

import torch


def second_derivative(f, x):
    """f''(x) elementwise, by differentiating through the first derivative."""
    x = x.detach().clone().requires_grad_(True)
    (first,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(first.sum(), x)
    return second.detach()


def graph_size(t):
    """Distinct nodes reachable from t.grad_fn through next_functions, AccumulateGrad included."""
    if t.grad_fn is None:
        return 0
    seen = set()
    stack = [t.grad_fn]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(child for child, _ in node.next_functions if child is not None)
    return len(seen)
