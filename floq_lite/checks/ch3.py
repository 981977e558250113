"""Exercise checks for chapter 3 (TD learning with a flow critic).

Each ``check`` runs the student's function on small inputs built to expose the usual mistakes and either prints a
tick or raises :class:`~floq_lite.checks.CheckFailed` naming the mistake. ``reference_*`` are the solutions shown in
the book's dropdowns (the test suite checks that the two texts are identical).
"""

from __future__ import annotations

import numpy as np

from floq_lite.checks._core import call_student, expect_close, expect_shape, fail, passed

# ---------------------------------------------------------------------------------------------------------------
# Exercise 1: compute Q* by value iteration.


def reference_value_iteration(transitions, rewards, masks, discount, num_iters):
    """Q* of a finite MDP: ``transitions, rewards, masks`` are (S, A, S); returns Q of
    shape (S, A).
    """
    q = np.zeros(transitions.shape[:2])
    for _ in range(num_iters):
        v_next = q.max(axis=1)  # (S,): act greedily in the next state
        backup = rewards + discount * masks * v_next[None, None, :]  # (S, A, S)
        q = np.sum(transitions * backup, axis=-1)  # expectation over the next state
    return q


def _small_mdp():
    """A 3-state chain with a stochastic action and a goal (state 2) that resets to state 0 if not masked."""
    s, a = 3, 2
    p = np.zeros((s, a, s))
    p[0, 0] = [0.5, 0.5, 0.0]  # "right": slips half the time
    p[0, 1] = [1.0, 0.0, 0.0]  # "stay"
    p[1, 0] = [0.0, 0.2, 0.8]
    p[1, 1] = [0.6, 0.4, 0.0]
    p[2, :, 0] = 1.0  # leaving the goal restarts the chain: only the mask stops its costs reaching Q
    rewards = np.full((s, a, s), -1.0)
    rewards[:, :, 2] = 0.0
    rewards[0, 1, 0] = -0.5
    masks = np.ones((s, a, s))
    masks[:, :, 2] = 0.0
    return p, rewards, masks


def value_iteration(fn) -> bool:
    """Check ``fn(transitions, rewards, masks, discount, num_iters) -> Q (S, A)``."""
    p, r, m = _small_mdp()
    gamma, iters = 0.9, 200
    want = reference_value_iteration(p, r, m, gamma, iters)
    got = expect_shape("Q", call_student(fn, "value_iteration", p, r, m, gamma, iters), want.shape)
    if np.allclose(got, want, atol=1e-6):
        return passed("value_iteration", "Q* matches value iteration on a 3-state chain.")
    # Diagnose the common mistakes by comparing with the answers they produce.
    wrong = {
        "the mask is ignored: bootstrapping must stop (mask = 0) on transitions into the goal.":
            _variant(p, r, np.ones_like(m), gamma, iters),
        "you average over next actions; Q* uses the best next action (max over a').":
            _variant(p, r, m, gamma, iters, backup="mean"),
        "the discount is missing: multiply the next-state value by gamma.": _variant(p, r, m, 1.0, 30),
        "the transition probabilities are not used: take the expectation over s' with P(s'|s,a).":
            _variant(np.ones_like(p) / p.shape[-1], r, m, gamma, iters),
    }
    for message, value in wrong.items():
        if np.allclose(got, value, atol=1e-6):
            fail(f"value_iteration: {message}")
    expect_close("Q", got, want, atol=1e-6, hint="apply Q(s,a) <- sum_s' P(s'|s,a) [r + gamma * mask * max_a' Q(s',a')]"
                 " num_iters times, starting from Q = 0.")
    return True


def _variant(p, r, m, gamma, iters, backup="max"):
    q = np.zeros(p.shape[:2])
    for _ in range(iters):
        v_next = q.max(axis=1) if backup == "max" else q.mean(axis=1)
        q = np.sum(p * (r + gamma * m * v_next[None, None, :]), axis=-1)
    return q


# ---------------------------------------------------------------------------------------------------------------
# Exercise 2: integrate the critic's velocity field with K Euler steps.


def reference_integrate_critic(velocity, z0, num_steps):
    """K Euler steps z <- z + v(t_i, z) / K at the left end-points t_i = i / K;
    returns z at t = 1."""
    z = z0
    for i in range(num_steps):
        t = i / num_steps
        z = z + velocity(t, z) / num_steps
    return z


def integrate_critic(fn) -> bool:
    """Check ``fn(velocity, z0, num_steps) -> z(1)`` on a field that depends on both ``t`` and ``z``."""
    velocity = lambda t, z: 3.0 * t**2 - 0.5 * z
    z0 = np.array([[-2.0], [0.0], [1.5]])  # (N, 1)
    for k in (1, 4, 8):
        want = reference_integrate_critic(velocity, z0, k)
        got = expect_shape(f"z(1) with K={k}", call_student(fn, "integrate_critic", velocity, z0, k), z0.shape)
        if np.allclose(got, want, atol=1e-6):
            continue
        right_end = z0.copy()
        for i in range(k):
            right_end = right_end + velocity((i + 1) / k, right_end) / k
        if np.allclose(got, right_end, atol=1e-6):
            fail(f"integrate_critic (K={k}): you evaluate the field at the right end-points t = (i+1)/K; floq's code "
                 "uses the left end-points t_i = i/K (the first step sees t = 0).")
        no_dt = z0.copy()
        for i in range(k):
            no_dt = no_dt + velocity(i / k, no_dt)
        if np.allclose(got, no_dt, atol=1e-6):
            fail(f"integrate_critic (K={k}): each step must be scaled by the step size 1/K.")
        expect_close(f"z(1) with K={k}", got, want, atol=1e-6,
                     hint="start from z0 and apply z <- z + velocity(i / K, z) / K for i = 0..K-1.")
    return passed("integrate_critic", "K = 1, 4 and 8 match the left end-point Euler scheme.")


# ---------------------------------------------------------------------------------------------------------------
# Exercise 3: the flow critic's TD target (expected backup over noise draws, greedy next action, masks).


def reference_td_target(rewards, masks, next_q, discount):
    """y_b = r_b + gamma * mask_b * max_a' mean_r next_q[b, a', r]; next_q is (B, A,
    R), returns (B,).
    """
    # (B, A): the critic's Q-value averages its R noise draws
    q_next = next_q.mean(axis=2)
    return rewards + discount * masks * q_next.max(axis=1)


def td_target(fn) -> bool:
    """Check ``fn(rewards (B,), masks (B,), next_q (B, A, R), discount) -> y (B,)``."""
    rng = np.random.default_rng(3)
    rewards = np.array([-1.0, -1.0, 0.0, -1.0])
    masks = np.array([1.0, 1.0, 0.0, 1.0])
    # Noise draws spread widely, so mean-then-max and max-then-mean give different answers.
    next_q = rng.normal(-5.0, 3.0, size=(4, 3, 6))
    gamma = 0.9
    want = reference_td_target(rewards, masks, next_q, gamma)
    got = expect_shape("y", call_student(fn, "td_target", rewards, masks, next_q, gamma), want.shape)
    if np.allclose(got, want, atol=1e-6):
        return passed("td_target", "greedy expected backup with masks.")
    wrong = {
        "you take the max over actions for every noise draw and then average (mean_r max_a'); the critic's Q-value "
        "is the average over draws, so average first and then take the max over next actions.":
            rewards + gamma * masks * next_q.max(axis=1).mean(axis=1),
        "the mask is ignored: on transitions into the goal (mask = 0) the target is just the reward.":
            rewards + gamma * next_q.mean(axis=2).max(axis=1),
        "you average over next actions; Q-learning bootstraps from the best next action (max over a').":
            rewards + gamma * masks * next_q.mean(axis=(1, 2)),
        "the discount is missing.": rewards + masks * next_q.mean(axis=2).max(axis=1),
    }
    for message, value in wrong.items():
        if np.allclose(got, value, atol=1e-6):
            fail(f"td_target: {message}")
    expect_close("y", got, want, atol=1e-6, hint="y = r + gamma * mask * max over a' of (mean over r of next_q).")
    return True
