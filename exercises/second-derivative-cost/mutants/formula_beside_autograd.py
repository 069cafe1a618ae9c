# fails: values, gradient-from-autograd
"""Autograd differentiates twice (create_graph=True) and is thrown away; the answer returned is a
difference quotient of f of the student's own."""

import torch


def second_derivative(f, x):
    leaf = x.detach().clone().requires_grad_(True)
    (dy,) = torch.autograd.grad(f(leaf).sum(), leaf, create_graph=True)
    torch.autograd.grad(dy.sum(), leaf)  # thrown away
    h = 1e-4
    return (f(x + h) - 2 * f(x) + f(x - h)) / (h * h)


def graph_size(t):
    if t.grad_fn is None:
        return 0
    seen, stack = set(), [t.grad_fn]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(child for child, _ in node.next_functions if child is not None)
    return len(seen)


WHY_SECOND_DERIVATIVE_COSTS_MORE = (
    "To differentiate a second time, autograd has to record the backward pass of the first "
    "derivative as a graph of its own (create_graph=True). That graph is larger than the forward "
    "graph, and the second backward pass has to traverse all of it."
)
