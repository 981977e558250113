"""Chapter 4, floq's design choices: the numbers behind each figure (the figures are in
:mod:`floq_lite.plotting.design`).

Sections follow the chapter:

1. noise interval: :func:`ogbench_noise_table`, :func:`kappa_k_grid` (exact marginal fields from
   ``Unif[kappa * q_min, 0]`` to a mixture of narrow targets, Euler with K steps, compared with the exact transport
   map; both from :mod:`floq_lite.studies.curvature`);
2. HL-Gauss embedding of ``z``: :func:`hl_gauss_nonzero_fraction`, :func:`embedding_sensitivity`;
4. why the actor reads a distilled critic: :func:`update_evaluation_counts`, :func:`actor_gradient_flops`;
5. the sum over ``R`` in the flow-matching loss: :func:`sum_and_mean_losses`, :func:`sum_vs_mean_training`.

Numbers are computed with plain JAX and returned as numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from floq_lite.studies import curvature
from floq_lite.critic.floq import noise_interval
from floq_lite.flow import GaussianMixture, Uniform
from floq_lite.networks.embeddings import hl_gauss_embed, hl_gauss_support, minmax_embed, q_range

Array = jax.Array

# ---------------------------------------------------------------------------------------------------------------------
# 1. The noise interval
# ---------------------------------------------------------------------------------------------------------------------

# (environment, r_min, r_max, discount, kappa) for the OGBench single-task suites (floq_spec section 1.3, section 7).
OGBENCH_REWARD_RANGES: tuple[tuple[str, float, float, float, float], ...] = (
    ("antmaze-large", -1.0, 0.0, 0.99, 0.1),
    ("antmaze-giant", -1.0, 0.0, 0.995, 0.1),
    ("humanoidmaze-medium", -1.0, 0.0, 0.995, 0.1),
    ("cube-single", -1.0, 0.0, 0.99, 0.1),
    ("cube-double", -2.0, 0.0, 0.99, 0.1),
    ("scene", -5.0, 0.0, 0.99, 0.1),
    ("puzzle-3x3", -9.0, 0.0, 0.99, 0.1),
    ("puzzle-4x4", -16.0, 0.0, 0.99, 0.1),
    ("puzzle-4x4 (best)", -16.0, 0.0, 0.99, 0.25),
)


def ogbench_noise_table() -> list[dict[str, Any]]:
    """One row per environment: reward range, gamma, kappa, the noise interval ``[l, u]`` and the HL-Gauss support."""
    rows = []
    for env, r_min, r_max, gamma, kappa in OGBENCH_REWARD_RANGES:
        low, high = noise_interval(r_min, r_max, gamma, kappa)
        q_lo, q_hi = q_range(r_min, r_max, gamma)
        rows.append(dict(env=env, r_min=r_min, r_max=r_max, discount=gamma, kappa=kappa, low=low, high=high,
                         q_min=q_lo, q_max=q_hi))
    return rows


def floq_style_target(q_min: float = -100.0) -> GaussianMixture:
    """The spread of TD targets one ``(s, a)`` is regressed onto, as three narrow modes at 48-62% of ``q_min``.

    For a single transition floq's target is one number ``y``; the field is shared across similar inputs, next
    actions and a moving target network, so what it must transport the noise onto is a narrow spread of values.
    """
    s = abs(q_min) / 100.0
    return GaussianMixture(means=(0.62 * q_min, 0.55 * q_min, 0.48 * q_min), stds=(s, s, s), weights=(1.0, 1.0, 1.0))


def exact_endpoint(source: Uniform, target: GaussianMixture, z0: Array) -> np.ndarray:
    """Where the exact flow takes ``z0``: in 1D the flow keeps the order of points, so it is the quantile map
    ``F_target^{-1}((z0 - l) / (u - l))`` (:func:`floq_lite.studies.curvature.exact_paths` at ``t = 1``), float64."""
    return curvature.exact_paths(source, target, np.ravel(z0), [1.0])[0].reshape(np.shape(z0))


def mixture_quantile(target: GaussianMixture, p: Array) -> np.ndarray:
    """Inverse CDF of a Gaussian mixture, ``p`` in (0, 1), any shape: the exact end point of the ``p``-quantile of
    ``Unif[0, 1]``."""
    return exact_endpoint(Uniform(0.0, 1.0), target, np.asarray(p, dtype=np.float64))


@dataclass(frozen=True)
class KappaKGrid:
    """Euler paths of the exact floq-style field on a grid of noise coverages ``kappa`` and step counts ``K``.

    Attributes:
      kappas, Ks: the grid axes, lengths ``nk`` and ``nK``.
      q_min: lower end of the Q range (the noise interval is ``[kappa * q_min, 0]``).
      paths: ``paths[i][j]`` is an array ``(K_j + 1, P)``: ``P`` Euler paths (evenly spaced start points) for
        ``kappas[i]`` and ``Ks[j]``; row ``k`` is ``z`` at ``t = k / K_j``.
      ends: ``(nk, nK, M)`` Euler end values of ``M`` evenly spaced start points (quantiles of the source).
      exact: ``(nk, M)`` exact end values of the same start points (the transport map).
      error: ``(nk, nK)`` mean ``|Euler - exact|`` over the ``M`` points (the integration error).
      spread: ``(nk, nK)`` std of the Euler end values divided by the std of the exact ones
        (0: the output ignores ``z0``, a scalar critic; 1: the full spread of targets is reproduced).
    """

    kappas: tuple[float, ...]
    Ks: tuple[int, ...]
    q_min: float
    paths: list[list[np.ndarray]]
    ends: np.ndarray
    exact: np.ndarray
    error: np.ndarray
    spread: np.ndarray


def kappa_k_grid(
    kappas: Sequence[float],
    Ks: Sequence[int],
    target: GaussianMixture | None = None,
    q_min: float = -100.0,
    num_paths: int = 21,
    num_points: int = 201,
) -> KappaKGrid:
    """Compute :class:`KappaKGrid` with :func:`floq_lite.studies.curvature.euler_paths` (every K in one loop, float64; one
    compilation serves every ``kappa``) and :func:`exact_endpoint`."""
    target = floq_style_target(q_min) if target is None else target
    Ks = tuple(int(k) for k in Ks)
    all_paths, ends, exact = [], [], []
    for kappa in kappas:
        source = curvature.noise_interval(kappa=float(kappa), q_range=(q_min, 0.0))  # Unif[kappa * q_min, 0]
        # Start points at the centres of P (or M) equal-probability cells of the source, paths first.
        z0 = np.concatenate([np.asarray(curvature.start_points(source, n), dtype=np.float64)
                             for n in (num_paths, num_points)])  # (P + M,)
        zs = curvature.euler_paths(source, target, z0, Ks)  # (nK, K_max + 1, P + M), frozen after K_j steps
        all_paths.append([zs[j, : K + 1, :num_paths] for j, K in enumerate(Ks)])
        ends.append(zs[:, -1, num_paths:])
        exact.append(exact_endpoint(source, target, z0[num_paths:]))
    ends_a, exact_a = np.stack(ends), np.stack(exact)  # (nk, nK, M), (nk, M)
    error = np.mean(np.abs(ends_a - exact_a[:, None]), axis=-1)
    spread = np.std(ends_a, axis=-1) / np.std(exact_a, axis=-1, keepdims=True)
    return KappaKGrid(tuple(float(k) for k in kappas), Ks, q_min, all_paths, ends_a, exact_a, error, spread)


# ---------------------------------------------------------------------------------------------------------------------
# 2. HL-Gauss embedding of z
# ---------------------------------------------------------------------------------------------------------------------


def hl_gauss_nonzero_fraction(z: Array, q_min: float, q_max: float, sigma: float, threshold: float = 1e-3,
                              num_bins: int = 51) -> Array:
    """Fraction of the ``num_bins - 1`` bins whose HL-Gauss mass exceeds ``threshold``; ``z (N,) -> (N,)``."""
    probs = hl_gauss_embed(jnp.asarray(z, jnp.float32)[:, None], hl_gauss_support(q_min, q_max, num_bins), sigma)
    return jnp.mean(probs > threshold, axis=-1)


def mean_nonzero_fraction(q_min: float, q_max: float, sigma: float, threshold: float = 1e-3, num_bins: int = 51,
                          num_points: int = 501) -> float:
    """:func:`hl_gauss_nonzero_fraction` averaged over ``num_points`` returns spread evenly over the support: the
    share chapter 4 prints and its HL-Gauss figure's titles show."""
    z = jnp.linspace(q_min, q_max, num_points)
    return float(jnp.mean(hl_gauss_nonzero_fraction(z, q_min, q_max, sigma, threshold, num_bins)))


def embedding_sensitivity(z: Array, q_min: float, q_max: float, sigma: float = 16.0, num_bins: int = 51) -> dict:
    """Norm of ``d embed / dz`` (per unit of return) for HL-Gauss, min-max and raw ``z``; each ``(N,)``.

    Also the norm of the embedding itself: raw ``z`` grows with the returns, the other two stay bounded.
    """
    support = hl_gauss_support(q_min, q_max, num_bins)
    z = jnp.asarray(z, jnp.float32)

    def hl(zz):
        return hl_gauss_embed(zz[None], support, sigma)

    jac = jax.vmap(jax.jacfwd(hl))(z)  # (N, num_bins - 1)
    return dict(
        hl_gauss=np.asarray(jnp.linalg.norm(jac, axis=-1)),
        minmax=np.full(z.shape, 1.0 / (q_max - q_min)),
        raw=np.ones(z.shape),
        hl_gauss_norm=np.asarray(jnp.linalg.norm(jax.vmap(hl)(z), axis=-1)),
        minmax_norm=np.abs(np.asarray(minmax_embed(z, q_min, q_max))),
        raw_norm=np.abs(np.asarray(z)),
    )


# ---------------------------------------------------------------------------------------------------------------------
# 4. Why the actor reads a distilled critic
# ---------------------------------------------------------------------------------------------------------------------


def update_evaluation_counts(batch_size: int = 256, noise_samples: int = 8, ensembles: int = 2,
                             flow_steps: int = 8, actor_noise_samples: int = 1) -> dict[str, dict[str, int]]:
    """Rows pushed through each network in one floq update (one row = one MLP forward pass on one input).

    ``with_distillation`` is what the official code does; ``actor_through_flow`` replaces the actor's
    ``Q_psi(s, a)`` by the flow integrated for K steps (``actor_noise_samples`` noise draws per state) and drops the
    distilled critic. Keys of each dict: ``forward`` (rows evaluated without gradient), ``forward_backward``
    (rows evaluated and differentiated), and ``actor_backward_chain`` (network calls the actor's gradient passes
    through, per row).
    """
    B, R, E, K = batch_size, noise_samples, ensembles, flow_steps
    critic_side_fwd = E * B * R * K * 2  # TD target (target field on s', a') + distillation target (online, s, a)
    fm = E * B * R  # the flow-matching regression, once per row, differentiated
    distilled = dict(
        forward=critic_side_fwd,
        forward_backward=fm + E * B + E * B,  # FM + distilled critic regression + actor's Q_psi(s, pi(s))
        actor_backward_chain=1,
    )
    through_flow = dict(
        forward=critic_side_fwd - E * B * R * K,  # no distillation target needed
        forward_backward=fm + E * B * actor_noise_samples * K,  # the actor differentiates through K field calls
        actor_backward_chain=K,
    )
    return dict(with_distillation=distilled, actor_through_flow=through_flow)


def actor_gradient_flops(Ks: Sequence[int], hidden: int = 64, depth: int = 2, obs_dim: int = 8, act_dim: int = 2,
                         batch: int = 64) -> dict[str, np.ndarray]:
    """XLA's FLOP count of ``d/da mean Q(s, a)`` for a K-step flow critic and for a scalar MLP critic.

    Both networks are the same MLP (``depth`` x ``hidden``); the flow's extra input is ``[z, t]``. The Euler loop is
    unrolled in Python so that the compiled program contains every step and XLA counts all of them.
    Returns ``{"K": (n,), "flow": (n,), "scalar": (n,)}`` FLOPs (the scalar critic does not depend on K).
    """
    from floq_lite.networks.mlp import MLP

    net = MLP((*([hidden] * depth), 1), layer_norm=True)
    key = jax.random.PRNGKey(0)
    s = jax.random.normal(key, (batch, obs_dim))
    a = jax.random.normal(jax.random.fold_in(key, 1), (batch, act_dim))
    p_flow = net.init(key, jnp.zeros((1, obs_dim + act_dim + 2)))
    p_q = net.init(key, jnp.zeros((1, obs_dim + act_dim)))

    def scalar_q(a):
        return jnp.mean(net.apply(p_q, jnp.concatenate([s, a], -1)))

    def flops(fn, a):
        lowered = jax.jit(jax.grad(fn)).lower(a)
        cost = lowered.cost_analysis()  # XLA's estimate of the unoptimised program; no compilation needed
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        if not cost or "flops" not in cost:
            cost = lowered.compile().cost_analysis()
            cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        return float(cost["flops"])

    out = []
    for K in Ks:
        def flow_q(a, K=K):
            z = jnp.full((batch, 1), -0.5)
            for i in range(K):  # unrolled: every step appears in the program
                t = jnp.full((batch, 1), i / K)
                z = z + net.apply(p_flow, jnp.concatenate([s, a, z, t], -1)) / K
            return jnp.mean(z)

        out.append(flops(flow_q, a))
    return dict(K=np.asarray(Ks), flow=np.asarray(out), scalar=np.full(len(Ks), flops(scalar_q, a)))


# ---------------------------------------------------------------------------------------------------------------------
# 5. The sum over R in the flow-matching loss
# ---------------------------------------------------------------------------------------------------------------------


def sum_and_mean_losses(fm_sq_err: Array, distill_sq_err: Array, num_repeats: int) -> dict[str, Array]:
    """floq's critic loss (sum over R) and the mean-over-R variant, from per-row squared errors.

    Args:
      fm_sq_err: ``(E, B * R)`` flow-matching squared errors, rows interleaved (row ``b * R + r``).
      distill_sq_err: ``(E, B)`` distillation squared errors.
    Returns:
      ``sum`` (official: ``mean_{e,b}(sum_r FM + D)``), ``mean`` (``mean_{e,b}(mean_r FM + D)``), and the two
      parts ``fm_mean = mean_{e,b,r} FM`` and ``distill = mean_{e,b} D``, so that
      ``sum = R * fm_mean + distill`` and ``mean = fm_mean + distill``.
    """
    E, N = fm_sq_err.shape
    fm = fm_sq_err.reshape(E, N // num_repeats, num_repeats)  # (E, B, R)
    return dict(
        sum=jnp.mean(jnp.sum(fm, -1) + distill_sq_err),
        mean=jnp.mean(jnp.mean(fm, -1) + distill_sq_err),
        fm_mean=jnp.mean(fm),
        distill=jnp.mean(distill_sq_err),
    )


def _toy_problem(key: Array, batch: int, num_repeats: int, dim: int):
    """Linear 'velocity field' theta and linear 'distilled critic' psi on fixed random data (disjoint parameters,
    as in floq where the FM loss touches only the field and the distillation loss only the critic)."""
    k = jax.random.split(key, 5)
    x_fm = jax.random.normal(k[0], (batch * num_repeats, dim))
    y_fm = x_fm @ jax.random.normal(k[1], (dim,)) + 0.3 * jax.random.normal(k[2], (batch * num_repeats,))
    x_d = jax.random.normal(k[3], (batch, dim))
    y_d = x_d @ jax.random.normal(k[4], (dim,))
    params = dict(theta=jnp.zeros(dim), psi=jnp.zeros(dim))

    def errors(p):
        fm = jnp.square(x_fm @ p["theta"] - y_fm)[None]  # (1, B*R)
        d = jnp.square(x_d @ p["psi"] - y_d)[None]  # (1, B)
        return fm, d

    return params, errors


def sum_vs_mean_training(num_repeats: int = 8, steps: int = 200, lr: float = 1e-2, batch: int = 32, dim: int = 6,
                         seed: int = 0) -> dict[str, np.ndarray]:
    """Train the toy with the summed and the averaged loss, under Adam and under SGD; record both parameter sets.

    Returns ``(steps + 1, dim)`` trajectories of ``theta`` (the field) and ``psi`` (the critic) for
    ``adam_sum, adam_mean, sgd_sum, sgd_mean`` and ``sgd_mean_scaled`` (mean loss, SGD, the field's learning rate
    multiplied by R), keyed ``"<run>/theta"`` and ``"<run>/psi"``.
    """
    params0, errors = _toy_problem(jax.random.PRNGKey(seed), batch, num_repeats, dim)

    def loss(p, kind):
        fm, d = errors(p)
        return sum_and_mean_losses(fm, d, num_repeats)[kind]

    runs = {
        "adam_sum": (optax.adam(lr), "sum"),
        "adam_mean": (optax.adam(lr), "mean"),
        "sgd_sum": (optax.sgd(lr / num_repeats), "sum"),
        "sgd_mean": (optax.sgd(lr / num_repeats), "mean"),
        "sgd_mean_scaled": (optax.multi_transform(
            {"theta": optax.sgd(lr), "psi": optax.sgd(lr / num_repeats)}, {"theta": "theta", "psi": "psi"}), "mean"),
    }
    out = {}
    for name, (opt, kind) in runs.items():
        @jax.jit
        def train(p, opt=opt, kind=kind):
            def step(carry, _):
                p, s = carry
                g = jax.grad(loss)(p, kind)
                u, s = opt.update(g, s, p)
                p = optax.apply_updates(p, u)
                return (p, s), p

            _, traj = jax.lax.scan(step, (p, opt.init(p)), None, length=steps)
            return jax.tree.map(lambda p0, tr: jnp.concatenate([p0[None], tr]), p, traj)

        traj = train(params0)
        out[f"{name}/theta"], out[f"{name}/psi"] = np.asarray(traj["theta"]), np.asarray(traj["psi"])
    return out
