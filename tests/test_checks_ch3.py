"""Chapter-3 exercise checks: references pass, typical wrong answers fail with a message naming the mistake."""


import numpy as np
import pytest

from floq_lite.checks import CheckFailed, ch3



@pytest.mark.parametrize(
    "check, reference",
    [
        (ch3.value_iteration, ch3.reference_value_iteration),
        (ch3.integrate_critic, ch3.reference_integrate_critic),
        (ch3.td_target, ch3.reference_td_target),
    ],
)
def test_reference_passes(check, reference):
    assert check(reference) is True


def test_value_iteration_without_mask_is_named():
    def no_mask(p, r, m, gamma, iters):
        return ch3.reference_value_iteration(p, r, np.ones_like(m), gamma, iters)

    with pytest.raises(CheckFailed, match="mask"):
        ch3.value_iteration(no_mask)


def test_value_iteration_with_mean_over_actions_is_named():
    def mean_backup(p, r, m, gamma, iters):
        q = np.zeros(p.shape[:2])
        for _ in range(iters):
            q = np.sum(p * (r + gamma * m * q.mean(axis=1)[None, None, :]), axis=-1)
        return q

    with pytest.raises(CheckFailed, match="max over a'"):
        ch3.value_iteration(mean_backup)


def test_integrate_with_right_end_points_is_named():
    def right_end(velocity, z0, k):
        z = z0
        for i in range(k):
            z = z + velocity((i + 1) / k, z) / k
        return z

    with pytest.raises(CheckFailed, match="left end-points"):
        ch3.integrate_critic(right_end)


def test_integrate_without_step_size_is_named():
    def no_dt(velocity, z0, k):
        z = z0
        for i in range(k):
            z = z + velocity(i / k, z)
        return z

    with pytest.raises(CheckFailed, match="step size"):
        ch3.integrate_critic(no_dt)


def test_td_target_max_then_mean_is_named():
    def max_then_mean(r, m, next_q, gamma):
        return r + gamma * m * next_q.max(axis=1).mean(axis=1)

    with pytest.raises(CheckFailed, match="average first"):
        ch3.td_target(max_then_mean)


def test_td_target_without_mask_is_named():
    def no_mask(r, m, next_q, gamma):
        return r + gamma * next_q.mean(axis=2).max(axis=1)

    with pytest.raises(CheckFailed, match="mask"):
        ch3.td_target(no_mask)


def test_wrong_shape_is_reported():
    with pytest.raises(CheckFailed, match="shape"):
        ch3.td_target(lambda r, m, q, g: np.zeros(3))


def test_unknown_mistake_still_fails_with_a_hint():
    with pytest.raises(CheckFailed, match="Hint"):
        ch3.value_iteration(lambda p, r, m, g, n: ch3.reference_value_iteration(p, r, m, g, n) + 0.1)
