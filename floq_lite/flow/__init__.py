"""Flow-matching primitives: the straight path, its loss, ODE solvers and closed-form 1D fields."""

from floq_lite.flow.exact import (
    Gaussian,
    GaussianMixture,
    Uniform,
    marginal_field,
    marginal_log_density,
    marginal_velocity,
    point_target_field,
)
from floq_lite.flow.paths import (
    cfm_loss,
    interpolant,
    sample_time,
    sample_uniform_noise,
    target_velocity,
)
from floq_lite.flow.solvers import EVALS_PER_STEP, METHODS, integrate, integrate_final, trajectory

__all__ = [
    "EVALS_PER_STEP",
    "METHODS",
    "Gaussian",
    "GaussianMixture",
    "Uniform",
    "cfm_loss",
    "integrate",
    "integrate_final",
    "interpolant",
    "marginal_field",
    "marginal_log_density",
    "marginal_velocity",
    "point_target_field",
    "sample_time",
    "sample_uniform_noise",
    "target_velocity",
    "trajectory",
]
