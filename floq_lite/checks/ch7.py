"""Checks for the chapter 7 exercises (when do K integration steps pay?).

Each ``check`` compares the student's function with values computed independently here, on inputs that expose the
usual slips, and names the slip when it recognises one. The ``reference_*`` functions are the solutions printed in
the book, verbatim.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from floq_lite.checks._core import call_student, diagnose, expect_shape, fail, passed

# --------------------------------------------------------------------------------------------------------------------
# Reference solutions (shown verbatim in the book's solution dropdowns)
# --------------------------------------------------------------------------------------------------------------------


def reference_flow_flops(d_sa, hidden, num_steps, num_members, zt_dim=51):
    # the field also reads embed(z) and the time feature
    dims = [d_sa + zt_dim, *hidden, 1]
    # 2 * in * out per dense layer
    one_pass = sum(2 * a * b for a, b in zip(dims[:-1], dims[1:]))
    return num_members * num_steps * one_pass  # every member integrates K steps


def reference_policy_value(transitions, rewards, masks, discount, policy, goal):
    S = transitions.shape[0]
    p = transitions[np.arange(S), policy]  # (S, S): P(s2 | s, pi(s))
    # (S,): expected reward of the step
    r = np.sum(p * rewards[np.arange(S), policy], axis=1)
    # V = r + gamma * P_masked V
    a = np.eye(S) - discount * p * masks[np.arange(S), policy]
    a[goal], r[goal] = np.eye(S)[goal], 0.0  # the goal's value is 0 by definition
    return np.linalg.solve(a, r)


def reference_euler_gain(c, num_steps, j):
    gain = 1.0
    for i in range(j, num_steps):  # the steps taken after the perturbation
        # e <- e + h * (-c / (1 - t_i)) * e, with h = 1/K, t_i = i/K
        gain *= 1.0 - c / (num_steps - i)
    return gain


# --------------------------------------------------------------------------------------------------------------------
# Exercise 1: FLOPs per Q-value of a flow critic
# --------------------------------------------------------------------------------------------------------------------


def flow_flops(fn: Callable) -> bool:
    """Check ``fn(d_sa, hidden, num_steps, num_members, zt_dim=51) -> int``."""
    d_sa, hidden, K, E = 27, (64, 64), 8, 2
    got = call_student(fn, "flow_flops", d_sa, hidden, K, E)
    try:
        got = float(got)
    except (TypeError, ValueError):
        fail(f"flow_flops should return one number, got {got!r}.")

    def count(d_in, k=K, e=E, factor=2):
        dims = [d_in, *hidden, 1]
        return e * k * sum(factor * a * b for a, b in zip(dims[:-1], dims[1:]))

    want = count(d_sa + 51)
    mistakes = {
        "you counted one Euler step; the flow critic runs its field K times per Q-value.": count(d_sa + 51, k=1),
        "you counted one ensemble member; every member integrates its own path.": count(d_sa + 51, e=1),
        "the field's input also holds the 50-bin HL-Gauss embedding of z and the time feature (zt_dim = 51 inputs).":
            count(d_sa),
        "a dense layer costs 2 * in * out FLOPs (a multiply and an add per weight).": count(d_sa + 51, factor=1),
        "the output layer (last hidden width -> 1) counts too.":
            E * K * sum(2 * a * b for a, b in zip([d_sa + 51, *hidden][:-1], [d_sa + 51, *hidden][1:])),
    }
    diagnose(np.asarray(got), np.asarray(float(want)), "flow_flops", mistakes, atol=0.5)
    if float(call_student(fn, "flow_flops", 6, (32,), 4, 2, 1)) != count_small():
        fail("flow_flops ignores one of its arguments: try d_sa=6, hidden=(32,), K=4, 2 members, zt_dim=1.")
    return passed("flow_flops", f"{int(want):,} FLOPs per Q-value for chapter 3's maze at width 64, K = 8.")


def count_small() -> float:
    dims = [6 + 1, 32, 1]
    return float(2 * 4 * sum(2 * a * b for a, b in zip(dims[:-1], dims[1:])))


# --------------------------------------------------------------------------------------------------------------------
# Exercise 2: exact policy evaluation
# --------------------------------------------------------------------------------------------------------------------


def policy_value(fn: Callable) -> bool:
    """Check ``fn(transitions (S, A, S), rewards, masks, discount, policy (S,), goal) -> V (S,)``."""
    from floq_lite.studies import mdp as mdp_lib

    maze = mdp_lib.make_maze(("....", ".#..", "..#G"), slip=0.3, discount=0.9)
    policy = np.random.default_rng(7).integers(0, 4, maze.num_states)
    args = (maze.transitions, maze.rewards, maze.masks, maze.discount, policy, maze.goal)
    got = expect_shape("policy_value(...)", call_student(fn, "policy_value", *args), (maze.num_states,))
    want = mdp_lib.policy_evaluation(maze, policy)
    # Independent check by iterating the policy's Bellman backup.
    v = np.zeros(maze.num_states)
    idx = np.arange(maze.num_states)
    for _ in range(2000):
        v = np.sum(maze.transitions[idx, policy] * (maze.rewards[idx, policy]
                                                   + maze.discount * maze.masks[idx, policy] * v[None]), axis=1)
        v[maze.goal] = 0.0
    if not np.allclose(want, v, atol=1e-8):
        fail("internal: the reference policy evaluation disagrees with iterated backups.")
    p = maze.transitions[idx, policy]
    no_mask = np.linalg.solve(np.eye(maze.num_states) - maze.discount * p,
                              np.sum(p * maze.rewards[idx, policy], axis=1))
    mistakes = {
        "you bootstrapped through the goal: multiply gamma * P by the masks (mask = 0 on the step into the goal).":
            no_mask,
        "you returned V* (the best policy's value); evaluate the given policy.": maze_v_star(maze),
    }
    diagnose(got, want, "policy_value", mistakes, atol=1e-6)
    return passed("policy_value", "your linear solve gives V^pi exactly, as iterating its Bellman backup does.")


def maze_v_star(maze) -> np.ndarray:
    from floq_lite.studies import mdp as mdp_lib

    return mdp_lib.value_iteration(maze).max(axis=1)


# --------------------------------------------------------------------------------------------------------------------
# Exercise 3: how Euler steps shrink a perturbation of z
# --------------------------------------------------------------------------------------------------------------------


def euler_gain(fn: Callable) -> bool:
    """Check ``fn(c, num_steps, j) -> float``: the factor left of a perturbation of ``z`` added after step ``j`` of a
    ``K``-step Euler integration of a field whose slope is ``dv/dz = -c / (1 - t)``."""
    cases = [(1.0, 8, 0), (0.5, 8, 0), (0.5, 8, 4), (0.5, 8, 8), (0.25, 16, 2), (1.0, 4, 3)]
    got = np.array([float(call_student(fn, "euler_gain", c, k, j)) for c, k, j in cases])
    want = np.array([_simulated_gain(c, k, j) for c, k, j in cases])
    mistakes = {
        "you included the step just before the perturbation; only steps j, j+1, ..., K-1 act on it.":
            np.array([_simulated_gain(c, k, max(j - 1, 0)) if j else _simulated_gain(c, k, 0) for c, k, j in cases]),
        "the slope at step i is -c / (1 - t_i) with t_i = i / K; times the step size 1/K that is -c / (K - i).":
            np.array([np.prod([1 - c / k for _ in range(j, k)]) for c, k, j in cases]),
    }
    diagnose(got, want, "euler_gain", mistakes, atol=1e-9)
    return passed("euler_gain", f"with c = 0.5 and K = 8 a perturbation at t = 0 shrinks to {want[1]:.3f} of itself; "
                                "with c = 1 (the exact field of a single target) it vanishes.")


def _simulated_gain(c: float, num_steps: int, j: int) -> float:
    """Integrate ``dz/dt = -c (z - y) / (1 - t)`` twice with Euler (t_i = i/K), once with a perturbation after step j."""
    y, h = 2.0, 1.0 / num_steps
    clean, noisy = -1.0, -1.0
    for i in range(num_steps):
        if i == j:
            noisy += 1e-3
        t = i * h
        clean += h * (-c * (clean - y) / (1 - t))
        noisy += h * (-c * (noisy - y) / (1 - t))
    if j == num_steps:
        noisy += 1e-3
    return (noisy - clean) / 1e-3


__all__ = ["euler_gain", "flow_flops", "policy_value", "reference_euler_gain", "reference_flow_flops",
           "reference_policy_value"]
