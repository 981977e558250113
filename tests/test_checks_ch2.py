"""Each chapter-2 check accepts its reference solution and rejects a typical wrong answer with a message naming it."""

import numpy as np
import pytest

from floq_lite.checks import CheckFailed
from floq_lite.checks import ch2


def test_references_pass():
    assert ch2.first_step_velocity(ch2.reference_first_step_velocity)
    assert ch2.straightness(ch2.reference_straightness)
    assert ch2.empirical_order(ch2.reference_empirical_order)


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        (lambda z, m, w: np.full_like(z, np.sum(w * m) / np.sum(w)), "minus where you are"),
        (lambda z, m, w: np.mean(m) - z, "unweighted"),
        (lambda z, m, w: z - np.sum(w * m) / np.sum(w), "wrong sign"),
    ],
)
def test_first_step_velocity_rejects(wrong, pattern):
    with pytest.raises(CheckFailed, match=pattern):
        ch2.first_step_velocity(wrong)


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        (lambda zs: np.mean((zs[1:] - zs[:-1] - (zs[-1] - zs[0])) ** 2, axis=0), "not 0 for straight lines"),
        (lambda zs: np.mean((zs[1:] - zs[:-1] - (zs[-1] - zs[0]) / (zs.shape[0] - 1)) ** 2, axis=0), "velocities"),
        (lambda zs: np.sum(((zs.shape[0] - 1) * (zs[1:] - zs[:-1]) - (zs[-1] - zs[0])) ** 2, axis=0), "average"),
    ],
)
def test_straightness_rejects(wrong, pattern):
    with pytest.raises(CheckFailed, match=pattern):
        ch2.straightness(wrong)


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        (lambda ks, e: np.polyfit(np.log(ks), np.log(e), 1)[0], "minus the slope"),
        (lambda ks, e: -np.log(e[-1] / e[0]) / np.log(ks[-1] / ks[0]), "first and last"),
    ],
)
def test_empirical_order_rejects(wrong, pattern):
    with pytest.raises(CheckFailed, match=pattern):
        ch2.empirical_order(wrong)


def test_unfinished_template_is_named():
    def template(zs):
        raise NotImplementedError("Compute the straightness.")

    with pytest.raises(CheckFailed, match="NotImplementedError"):
        ch2.straightness(template)
