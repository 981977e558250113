"""The chapter 1 exercise checks accept the reference solutions, reject typical mistakes with a message that names
the mistake, and the notebook shows the reference solutions verbatim."""

from __future__ import annotations


import jax.numpy as jnp
import pytest

from floq_lite.checks import CheckFailed, ch1



# --- exercise 1 ---------------------------------------------------------------------------------------------------

INTERPOLANT_MISTAKES = {
    "swapped": (lambda z0, x1, t: (t * z0 + (1 - t) * x1, x1 - z0), "end-points are swapped"),
    "sign": (lambda z0, x1, t: ((1 - t) * z0 + t * x1, z0 - x1), "wrong sign"),
    "time-scaled velocity": (lambda z0, x1, t: ((1 - t) * z0 + t * x1, t * (x1 - z0)), "should not depend on t"),
    "one value": (lambda z0, x1, t: (1 - t) * z0 + t * x1, "should return a pair"),
    "flattened": (lambda z0, x1, t: (((1 - t) * z0 + t * x1).ravel(), x1 - z0), "shape"),
    "off by a bit": (lambda z0, x1, t: ((1 - t) * z0 + t * x1 + 0.01, x1 - z0), "z_t is off"),
}


@pytest.mark.parametrize("mistake", INTERPOLANT_MISTAKES)
def test_interpolant_mistakes_are_named(mistake):
    fn, message = INTERPOLANT_MISTAKES[mistake]
    with pytest.raises(CheckFailed, match=message):
        ch1.interpolant_and_velocity(fn)


# --- exercise 2 ---------------------------------------------------------------------------------------------------


def _loss(evaluate_at, target, reduce=jnp.mean):
    def fn(velocity_fn, z0, x1, t):
        z_t = (1 - t) * z0 + t * x1
        point = {"z_t": z_t, "z0": z0, "x1": x1, "swapped": t * z0 + (1 - t) * x1}[evaluate_at]
        goal = {"velocity": x1 - z0, "negative": z0 - x1, "x1": x1}[target]
        return reduce((velocity_fn(t, point) - goal) ** 2)

    return fn


LOSS_MISTAKES = {
    "sum": (_loss("z_t", "velocity", jnp.sum), "sums over the batch"),
    "at z0": (_loss("z0", "velocity"), "evaluated at the noise z0"),
    "at x1": (_loss("x1", "velocity"), "evaluated at the target x1"),
    "swapped path": (_loss("swapped", "velocity"), "end-points of the interpolant are swapped"),
    "sign": (_loss("z_t", "negative"), "wrong sign"),
    "target not velocity": (_loss("z_t", "x1"), "not the target x1"),
    "rmse": (lambda *a: jnp.sqrt(ch1.reference_cfm_loss(*a)), "square root"),
    "per-sample": (_loss("z_t", "velocity", lambda x: x), "should have shape ()"),
}


@pytest.mark.parametrize("mistake", LOSS_MISTAKES)
def test_loss_mistakes_are_named(mistake):
    fn, message = LOSS_MISTAKES[mistake]
    with pytest.raises(CheckFailed, match=message):
        ch1.cfm_loss(fn)


# --- exercise 3 ---------------------------------------------------------------------------------------------------


def _euler(times, num_steps_fn=lambda k: k, step=lambda k: 1.0 / k):
    def fn(velocity_fn, z0, num_steps):
        z = z0
        for t in times(num_steps)[: num_steps_fn(num_steps)]:
            z = z + step(num_steps) * velocity_fn(t, z)
        return z

    return fn


EULER_MISTAKES = {
    "right end-point": (_euler(lambda k: [(i + 1) / k for i in range(k)]), "right end-point"),
    "linspace grid": (_euler(lambda k: list(jnp.linspace(0.0, 1.0, k))), r"i / \(K - 1\)"),
    "one step short": (_euler(lambda k: [i / k for i in range(k)], lambda k: k - 1), "K - 1 steps"),
    "frozen time": (_euler(lambda k: [0.0] * k), "time must advance"),
    "wrong step size": (_euler(lambda k: [i / k for i in range(k)], step=lambda k: 1.0 / (k + 1)), "is off"),
}


@pytest.mark.parametrize("mistake", EULER_MISTAKES)
def test_euler_mistakes_are_named(mistake):
    fn, message = EULER_MISTAKES[mistake]
    with pytest.raises(CheckFailed, match=message):
        ch1.euler_sample(fn)
