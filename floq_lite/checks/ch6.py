"""Checks for the chapter 6 exercises (floq vs FQL on antmaze-large).

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


def reference_final_success(steps, success, last_n):
    # evaluations in training order, whatever order the log lists them in
    order = np.argsort(steps)
    # (S, last_n): each seed's last n evaluations
    last = np.asarray(success)[:, order][:, -last_n:]
    return last.mean(axis=1)  # (S,): one final number per seed


def reference_singletask_rewards(xy, goal_xy, tolerance):
    # (N,): straight-line distance of each row to the goal
    dist = np.linalg.norm(xy - goal_xy, axis=-1)
    # exactly at the tolerance counts as reached, as in OGBench
    success = (dist <= tolerance).astype(np.float32)
    # rewards in {-1, 0}; masks are 0 where the goal is reached
    return success - 1.0, 1.0 - success


# --------------------------------------------------------------------------------------------------------------------
# Exercise 1: the final success of a run, from its evaluation curve
# --------------------------------------------------------------------------------------------------------------------


def final_success(fn: Callable) -> bool:
    """Check ``fn(steps (T,), success (S, T), last_n) -> (S,)``: per seed, the mean of its last ``last_n``
    evaluations in training order."""
    steps = np.array([40, 10, 50, 20, 30])  # a log merged from two files: not in training order
    success = np.array([
        [0.6, 0.0, 0.8, 0.2, 0.4],
        [0.2, 0.0, 0.4, 0.0, 0.0],
        [1.0, 0.2, 0.6, 0.4, 0.8],
    ])
    got = call_student(fn, "final_success", steps, success, 3)
    arr = np.asarray(got, dtype=float)
    if arr.shape == ():
        fail("final_success returned one number; return one per seed (shape (S,)). The mean over seeds comes "
             "afterwards, when the seeds are summarised.")
    got = expect_shape("final_success(steps, success, 3)", arr, (3,))
    order = np.argsort(steps)
    want = success[:, order][:, -3:].mean(axis=1)
    mistakes = {
        "you took the last 3 columns as they are stored; sort the evaluations by their step first (the log is not "
        "in training order here).": success[:, -3:].mean(axis=1),
        "you averaged all evaluations; the final number averages only the last `last_n` ones.": success.mean(axis=1),
        "you returned the last evaluation only; average the last `last_n` evaluations (the papers use 3).":
            success[:, order][:, -1],
        "you took the FIRST `last_n` evaluations in training order; take the last ones.":
            success[:, order][:, :3].mean(axis=1),
    }
    diagnose(got, want, "final_success", mistakes)
    return passed("final_success", f"seeds end at {np.round(want, 3).tolist()} (evaluations at steps 30, 40, 50).")


# --------------------------------------------------------------------------------------------------------------------
# Exercise 2: singletask rewards and masks from positions
# --------------------------------------------------------------------------------------------------------------------


def singletask_rewards(fn: Callable) -> bool:
    """Check ``fn(xy (N, 2), goal_xy (2,), tolerance) -> (rewards (N,), masks (N,))``."""
    goal = np.array([36.0, 24.0])
    offsets = np.array([
        [0.0, 0.0],    # on the goal
        [0.0, 0.5],    # exactly at the tolerance: reached
        [0.3, -0.3],   # inside (distance 0.42)
        [0.45, 0.45],  # Manhattan 0.9 but distance 0.64: outside
        [0.6, 0.0],    # distance 0.6: outside (its squared distance 0.36 is below 0.5)
        [0.0, -0.7],   # outside
        [-8.0, 4.0],   # far away
    ])
    xy = goal + offsets
    got = call_student(fn, "singletask_rewards", xy, goal, 0.5)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail("singletask_rewards should return two arrays: (rewards, masks).")
    rewards = expect_shape("rewards", np.asarray(got[0], float), (len(xy),))
    masks = expect_shape("masks", np.asarray(got[1], float), (len(xy),))
    dist = np.sqrt((offsets**2).sum(-1))
    success = (dist <= 0.5).astype(float)
    both = np.concatenate([rewards, masks])
    want = np.concatenate([success - 1.0, 1.0 - success])
    strict = (dist < 0.5).astype(float)
    squared = ((offsets**2).sum(-1) <= 0.5).astype(float)
    manhattan = (np.abs(offsets).sum(-1) <= 0.5).astype(float)
    mistakes = {
        "your rewards are the success flags (0 or 1); OGBench's singletask reward is success - 1 (-1 per step, 0 "
        "at the goal).": np.concatenate([success, 1.0 - success]),
        "your masks are the success flags; the mask is 1 - success (0 where the episode ends at the goal, so no "
        "bootstrapping past it).": np.concatenate([success - 1.0, success]),
        "a position exactly at the tolerance counts as reached (OGBench uses <=); you used <.":
            np.concatenate([strict - 1.0, 1.0 - strict]),
        "you compared the squared distance with the tolerance; compare the distance itself (np.linalg.norm).":
            np.concatenate([squared - 1.0, 1.0 - squared]),
        "you used the sum of |dx| and |dy|; the goal test uses the straight-line (Euclidean) distance.":
            np.concatenate([manhattan - 1.0, 1.0 - manhattan]),
    }
    diagnose(both, want, "singletask_rewards (rewards and masks side by side)", mistakes)
    return passed("singletask_rewards", f"{int(success.sum())} of these {len(xy)} positions are within 0.5 of the "
                  "goal: reward 0 and mask 0 there, reward -1 and mask 1 elsewhere.")


__all__ = ["final_success", "reference_final_success", "reference_singletask_rewards", "singletask_rewards"]
