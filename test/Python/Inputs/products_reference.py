"""The step of Inputs/products.mlir in NumPy float32, each product summed
in ascending k (a rounded multiply, then a rounded add), as the CPU code
must: for product_order.py and scratch_pool.py."""

import numpy as np


def ascending_k(a, b):
    """a·b in float32, each element summed in ascending k."""
    total = np.zeros((a.shape[0], b.shape[1]), np.float32)
    for k in range(a.shape[1]):
        total = np.outer(a[:, k], b[k, :]) + total
    return total


def products_step(w, s, grad):
    """P = G·Gᵀ, W ← W − S·G, S ← Sᵀ·P (lr = 1): the new (w, s)."""
    p = ascending_k(grad, grad.T.copy())
    return w - ascending_k(s, grad), ascending_k(s.T.copy(), p)


def bind_products(artifact, shape):
    """A new instance of group "all" on zero param and grad arrays, and
    the reference's starting (w, s): (group, param, grad, w, s)."""
    param = np.zeros(shape, np.float32)
    grad = np.zeros(shape, np.float32)
    group = artifact.group("all")
    group.bind([param], [grad])
    group.init_state()
    return group, param, grad, param.copy(), np.eye(shape[0], dtype=np.float32)
