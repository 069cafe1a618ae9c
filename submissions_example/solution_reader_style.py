# expect: score=50
# A full answer written the way readers post theirs: the book's d2l helpers, a legend given as a
# list, the control flow inside a helper function, and demo lines left at the top level (one of
# which fails, as the exercise says it should). All of it scores full marks.
import torch
from d2l import torch as d2l

# ---- Exercise 1 ----
def second_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    dy = torch.autograd.grad(y.sum(), x, create_graph=True)[0]
    d2y = torch.autograd.grad(dy.sum(), x)[0]
    return d2y

def graph_size(t):
    seen = set()
    todo = [t.grad_fn] if t.grad_fn is not None else []
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo += [n for n, _ in node.next_functions if n is not None]
    return len(seen)

WHY_SECOND_DERIVATIVE_COSTS_MORE = """二阶导数要先用 create_graph=True 把一阶导数的反向传播也记录成计算图，
这个图比原来的前向图更大，然后还要在这个更大的图上再做一次反向传播，所以开销更大。"""

x = torch.arange(-2.0, 2.0, 0.5)
print("f''(x) of sin:", second_derivative(torch.sin, x))

# ---- Exercise 2 ----
def backward_twice(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward()
    y.backward()

def backward_twice_retained(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward(retain_graph=True)
    y.backward()
    return x.grad

def backward_twice_zeroed(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward(retain_graph=True)
    x.grad.zero_()
    y.backward()
    return x.grad

print(backward_twice_retained(torch.arange(4.0)))
backward_twice(torch.arange(4.0))  # RuntimeError: Trying to backward through the graph a second time

# ---- Exercise 3 ----
def f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c

def grad_f(a):
    a = a.detach().clone().requires_grad_(True)
    d = f(a)
    d.backward(torch.ones_like(d))
    return a.grad

def backward_nonscalar(a):
    a = a.detach().clone().requires_grad_(True)
    f(a).backward()

a = torch.randn(size=(3, 4))
print(grad_f(a) == f(a) / a)

# ---- Exercise 4 ----
def piecewise(x):
    if x < 0:
        return x ** 2
    else:
        return 3 * x

def g(x):
    return piecewise(x) + 1

def g_grad(x):
    return 2 * x if x < 0 else torch.tensor(3.0, dtype=x.dtype)

G_DOMAIN = (-5.0, 5.0)

# ---- Exercise 5 ----
def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.backward(torch.ones_like(y))
    return y.detach(), x.grad

def plot_sin_and_grad(x):
    y, dy = sin_and_grad(x)
    d2l.plot(x.detach(), [y, dy], 'x', 'f(x)', legend=['f(x) = sin(x)', 'df(x)/dx'], figsize=(5, 3))

plot_sin_and_grad(torch.linspace(-5, 5, 100))
d2l.plt.show()
