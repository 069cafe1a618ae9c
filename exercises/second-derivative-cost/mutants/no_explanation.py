# fails: explanation
"""Everything computed, but no explanation written."""

import torch


def second_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    (dy,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy.sum(), x)
    return d2y


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


UNUSED_NOTE = (
    "To differentiate a second time, autograd has to record the backward pass of the first "
    "derivative as a graph of its own (create_graph=True). That graph is larger than the forward "
    "graph, and the second backward pass has to traverse all of it."
)
