"""Checks for the chapter 5 exercises (floq vs FQL on an offline maze).

Each ``check`` compares the student's function with values computed independently here on inputs that expose the
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


def reference_success_rate(episode_infos):
    # only the final step of each episode decides
    last = [infos[-1] for infos in episode_infos]
    return float(np.mean([float(info.get("success", 0.0)) for info in last]))


def reference_greedy_action(q_values, actions):
    # (H, W): index of the best candidate action at each grid point
    best = np.argmax(q_values, axis=-1)
    return actions[best]  # (H, W, 2): that action itself


# --------------------------------------------------------------------------------------------------------------------
# Exercise 1: success rate from episode infos
# --------------------------------------------------------------------------------------------------------------------


def _episodes():
    # Episode 0 passes the goal mid-way but ends elsewhere (time limit); episode 1 ends at the goal; episode 2 never
    # sees it; episode 3 ends at the goal after one step; episode 4's infos lack the key on the early steps.
    return [
        [{"success": 0.0}, {"success": 1.0}, {"success": 0.0}],
        [{"success": 0.0}, {"success": 0.0}, {"success": 1.0}],
        [{"success": 0.0}, {"success": 0.0}],
        [{"success": 1.0}],
        [{}, {}, {"success": 1.0}],
    ]


def success_rate(fn: Callable) -> bool:
    """Check ``fn(episode_infos) -> float``: the fraction of episodes whose last info says success."""
    eps = _episodes()
    got = call_student(fn, "success_rate", eps)
    try:
        got = float(np.asarray(got))
    except (TypeError, ValueError):
        fail(f"success_rate should return one number, got {got!r}.")
    mistakes = {
        "you counted an episode as a success if ANY step succeeded; OGBench (and the evaluation loop) look only at "
        "the last step's info.": np.mean([any(i.get("success", 0) for i in e) for e in eps]),
        "you averaged the success flag over all steps; the success rate is per episode (last step only).":
            np.mean([i.get("success", 0.0) for e in eps for i in e]),
        "you returned the number of successful episodes; divide by the number of episodes.": 3.0,
    }
    diagnose(np.asarray(got), np.asarray(0.6), "success_rate", mistakes)
    return passed("success_rate", "3 of these 5 episodes end at the goal: 0.6.")


# --------------------------------------------------------------------------------------------------------------------
# Exercise 2: a greedy action from Q values on a grid
# --------------------------------------------------------------------------------------------------------------------


def greedy_action(fn: Callable) -> bool:
    """Check ``fn(q_values (H, W, A), actions (A, 2)) -> (H, W, 2)``."""
    rng = np.random.default_rng(5)
    H, W, A = 3, 4, 6
    q = -rng.uniform(1.0, 20.0, size=(H, W, A))  # OGBench-style Q-values: all negative
    angles = np.linspace(0, 2 * np.pi, A, endpoint=False)
    actions = np.stack([np.cos(angles), np.sin(angles)], -1)
    got = expect_shape("greedy_action(q_values, actions)", call_student(fn, "greedy_action", q, actions), (H, W, 2))
    want = actions[np.argmax(q, axis=-1)]
    mistakes = {
        "you took the action with the SMALLEST Q; the greedy action maximises Q (values here are negative, the "
        "best one is the closest to 0).": actions[np.argmin(q, axis=-1)],
        "you picked the action with the largest |Q|; compare the signed values.": actions[np.argmax(np.abs(q), -1)],
    }
    diagnose(got, want, "greedy_action", mistakes)
    return passed("greedy_action", "each grid point gets the candidate action with the highest Q.")


__all__ = ["greedy_action", "reference_greedy_action", "reference_success_rate", "success_rate"]
