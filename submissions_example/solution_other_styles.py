# expect: score=50
"""A full solution in other styles: torch.func, backward() with gradient=, per-element loops, the object API."""

import torch
from matplotlib.figure import Figure
from torch.func import grad, vmap


def second_derivative(f, x):
    # grad of grad of a scalar function, vectorised over the elements of x.
    scalar = lambda t: f(t)
    return vmap(grad(grad(scalar)))(x.detach())


def graph_size(t):
    def visit(node, seen):
        if node is None or node in seen:
            return seen
        seen.add(node)
        for child, _ in node.next_functions:
            visit(child, seen)
        return seen

    return len(visit(t.grad_fn, set()))


def backward_twice(x):
    leaf = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(leaf, leaf)
    for _ in range(2):
        y.backward()


def backward_twice_retained(x):
    leaf = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(leaf, leaf)
    torch.autograd.backward(y, retain_graph=True)
    torch.autograd.backward(y)
    return leaf.grad


def backward_twice_zeroed(x):
    leaf = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(leaf, leaf)
    y.backward(retain_graph=True)
    leaf.grad = None
    y.backward()
    return leaf.grad


def f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    return b if b.sum() > 0 else 100 * b


def grad_f(a):
    a = a.detach().clone().requires_grad_(True)
    c = f(a)
    c.backward(gradient=torch.ones_like(c))
    return a.grad


def backward_nonscalar(a):
    a = a.detach().clone().requires_grad_(True)
    f(a).backward()


G_DOMAIN = (-3.0, 3.0)


def g(x):
    # Halve until below 1: the number of iterations depends on x.
    y = x * x
    steps = 0
    while y > 1:
        y = y / 2
        steps += 1
    return y


def g_grad(x):
    y, steps = float(x) ** 2, 0
    while y > 1:
        y, steps = y / 2, steps + 1
    return 2 * float(x) / 2**steps


def sin_and_grad(x):
    dydx = vmap(grad(torch.sin))(x.detach())
    return torch.sin(x), dydx


def plot_sin_and_grad(x):
    y, dydx = sin_and_grad(x)
    figure = Figure(figsize=(8, 3))
    left, right = figure.subplots(1, 2)
    left.plot(x.numpy(), y.numpy())
    left.set_title("sin(x)")
    right.plot(x.numpy(), dydx.numpy())
    right.set_title("derivative of sin(x), by autograd")
    figure.savefig("sin.png")
