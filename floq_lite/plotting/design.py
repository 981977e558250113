"""Chapter 4, floq's design choices: the numbers behind each figure, and the figures.

Sections follow the chapter:

1. noise interval: :func:`ogbench_noise_table`, :func:`kappa_k_grid` (exact marginal fields from
   ``Unif[kappa * q_min, 0]`` to a mixture of narrow targets, Euler with K steps, compared with the exact transport map);
2. HL-Gauss embedding of ``z``: :func:`hl_gauss_nonzero_fraction`, :func:`embedding_sensitivity`, :func:`plot_hl_gauss`;
3. time features: :func:`plot_time_features`;
4. why the actor reads a distilled critic: :func:`update_evaluation_counts`, :func:`actor_gradient_flops`,
   :func:`plot_compute_graph`;
5. the sum over ``R`` in the flow-matching loss: :func:`sum_and_mean_losses`, :func:`sum_vs_mean_training`;
6. sliders for ``kappa`` and ``K``: :func:`kappa_k_plotly` (kernel-free, two sliders) and :func:`kappa_k_widget` (live).

Numbers are computed with plain JAX and returned as numpy arrays; the figure functions return the figure and
leave ``plt.show()`` / ``fig.show()`` to the notebook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from jax.scipy.special import ndtr

from floq_lite.critic.floq import noise_interval
from floq_lite.flow import GaussianMixture, Uniform, marginal_field
from floq_lite.networks.embeddings import hl_gauss_embed, hl_gauss_support, minmax_embed, q_range, time_features

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


def mixture_quantile(target: GaussianMixture, p: Array, iters: int = 60) -> Array:
    """Inverse CDF of a Gaussian mixture by bisection; ``p`` in (0, 1), any shape."""
    means, stds, w = (jnp.asarray(v, jnp.float32) for v in (target.means, target.stds, target.weights))
    lo = jnp.full_like(p, float(np.min(np.asarray(target.means) - 12 * np.asarray(target.stds))))
    hi = jnp.full_like(p, float(np.max(np.asarray(target.means) + 12 * np.asarray(target.stds))))

    def cdf(x):
        return jnp.sum(w * ndtr((x[..., None] - means) / stds), axis=-1)

    def body(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        below = cdf(mid) < p
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = jax.lax.fori_loop(0, iters, body, (lo, hi))
    return 0.5 * (lo + hi)


def exact_endpoint(source: Uniform, target: GaussianMixture, z0: Array) -> Array:
    """Where the exact flow takes ``z0``: in 1D the flow keeps the order of points, so it is the quantile map
    ``F_target^{-1}((z0 - l) / (u - l))``."""
    p = jnp.clip((z0 - source.low) / source.width, 1e-6, 1 - 1e-6)
    return mixture_quantile(target, p)


def _euler_all_K(source: Uniform, target: GaussianMixture, Ks: tuple[int, ...], z0: Array) -> tuple[Array, Array]:
    """Euler with every K of ``Ks`` at once: one lane per K, step ``1/K``, frozen once it has taken K steps.

    Returns ``zs`` of shape ``(max(Ks) + 1, len(Ks), *z0.shape)`` (lane ``j`` is final from row ``Ks[j]`` on, so
    ``zs[:K + 1, j]`` is the K-step path) and the exact end values ``(*z0.shape)``. One compilation per source.
    """
    field = marginal_field(source, target)
    K_arr = jnp.asarray(Ks, jnp.float32).reshape(-1, *([1] * z0.ndim))  # (nK, 1, ...)

    @jax.jit
    def run(z0):
        def step(z, i):
            t = jnp.minimum(i / K_arr, 1.0 - 1.0 / K_arr)  # left end-point i/K, clamped once the lane is done
            z_new = jnp.where(i < K_arr, z + field(t, z) / K_arr, z)
            return z_new, z_new

        z_init = jnp.broadcast_to(z0, (len(Ks), *z0.shape))
        _, zs = jax.lax.scan(step, z_init, jnp.arange(max(Ks), dtype=jnp.float32))
        return jnp.concatenate([z_init[None], zs]), exact_endpoint(source, target, z0)

    return run(z0)


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
    """Compute :class:`KappaKGrid`. One compilation per ``kappa`` (all ``K`` together); a few seconds each on a CPU."""
    target = floq_style_target(q_min) if target is None else target
    Ks = tuple(int(k) for k in Ks)
    all_paths, ends, exact = [], [], []
    for kappa in kappas:
        source = Uniform(float(kappa) * q_min, 0.0)
        # Start points at the centres of P (or M) equal-probability cells of the source, paths first.
        cells = jnp.concatenate([(jnp.arange(num_paths) + 0.5) / num_paths, (jnp.arange(num_points) + 0.5) / num_points])
        z0 = source.low + source.width * cells  # (P + M,)
        zs, z_exact = _euler_all_K(source, target, Ks, z0)  # (K_max + 1, nK, P + M), (P + M,)
        all_paths.append([np.asarray(zs[: K + 1, j, :num_paths]) for j, K in enumerate(Ks)])
        ends.append(np.stack([np.asarray(zs[K, j, num_paths:]) for j, K in enumerate(Ks)]))
        exact.append(np.asarray(z_exact[num_paths:]))
    ends_a, exact_a = np.stack(ends), np.stack(exact)  # (nk, nK, M), (nk, M)
    error = np.mean(np.abs(ends_a - exact_a[:, None]), axis=-1)
    spread = np.std(ends_a, axis=-1) / np.std(exact_a, axis=-1, keepdims=True)
    return KappaKGrid(tuple(float(k) for k in kappas), Ks, q_min, all_paths, ends_a, exact_a, error, spread)


def plot_paths_narrow_wide(grid: KappaKGrid, kappa_idx: Sequence[int], K_idx: int, tier: str | None = None):
    """Euler paths for a few ``kappa`` (one panel each) at ``K = grid.Ks[K_idx]``, exact end values as ticks."""
    fig, axes = plt.subplots(1, len(kappa_idx), figsize=(4.2 * len(kappa_idx), 3.6), sharey=True)
    axes = np.atleast_1d(axes)
    K = grid.Ks[K_idx]
    for ax, i in zip(axes, kappa_idx):
        p = grid.paths[i][K_idx]
        ts = np.linspace(0, 1, K + 1)
        ax.axhspan(grid.kappas[i] * grid.q_min, 0.0, color="C1", alpha=0.12, label="noise interval")
        ax.plot(ts, p, color="C0", lw=1, alpha=0.8, marker="." if K <= 16 else None, ms=3)
        ax.plot(np.ones(grid.exact.shape[1]), grid.exact[i], "_", color="k", ms=8, alpha=0.3)
        ax.set_title(f"$\\kappa$ = {grid.kappas[i]:g}, K = {K}")
        ax.set_xlabel("flow time t")
    axes[0].set_ylabel("z (return)")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle("Euler paths of the exact field (black ticks: exact end values)" + _tier_note(tier), fontsize=10)
    fig.tight_layout()
    return fig


def plot_error_vs_K(grid: KappaKGrid, tier: str | None = None):
    """Left: integration error vs K per kappa. Right: how much of the target spread the output keeps."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for i, kappa in enumerate(grid.kappas):
        a1.plot(grid.Ks, grid.error[i], "o-", label=f"$\\kappa$={kappa:g}")
        a2.plot(grid.Ks, grid.spread[i], "o-", label=f"$\\kappa$={kappa:g}")
    for ax in (a1, a2):
        ax.set_xscale("log", base=2)
        ax.set_xticks(grid.Ks, [str(k) for k in grid.Ks])
        ax.set_xlabel("Euler steps K")
    a1.set_yscale("log")
    a1.set_ylabel("mean |Euler - exact| end value")
    a2.set_ylabel("std(output) / std(exact output)")
    a2.axhline(1.0, color="k", lw=0.8, ls=":")
    a2.legend(fontsize=8)
    fig.suptitle("Exact field, Unif[$\\kappa q_{min}$, 0] to three narrow modes" + _tier_note(tier), fontsize=10)
    fig.tight_layout()
    return fig


def _tier_note(tier: str | None) -> str:
    return f" (tier: {tier})" if tier else ""


# ---------------------------------------------------------------------------------------------------------------------
# 2. HL-Gauss embedding of z
# ---------------------------------------------------------------------------------------------------------------------


def hl_gauss_nonzero_fraction(z: Array, q_min: float, q_max: float, sigma: float, threshold: float = 1e-3,
                              num_bins: int = 51) -> Array:
    """Fraction of the ``num_bins - 1`` bins whose HL-Gauss mass exceeds ``threshold``; ``z (N,) -> (N,)``."""
    probs = hl_gauss_embed(jnp.asarray(z, jnp.float32)[:, None], hl_gauss_support(q_min, q_max, num_bins), sigma)
    return jnp.mean(probs > threshold, axis=-1)


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


def plot_hl_gauss(q_min: float, q_max: float, zs: Sequence[float], sigmas: Sequence[float] = (0.75, 4.0, 16.0),
                  num_bins: int = 51, threshold: float = 1e-3):
    """One panel per sigma (in bin widths): the 50-bin encoding of each ``z`` in ``zs``, as step curves."""
    support = np.asarray(hl_gauss_support(q_min, q_max, num_bins))
    centres = 0.5 * (support[1:] + support[:-1])
    fig, axes = plt.subplots(1, len(sigmas), figsize=(4.3 * len(sigmas), 3.4), sharex=True)
    for ax, sigma in zip(np.atleast_1d(axes), sigmas):
        probs = np.asarray(hl_gauss_embed(jnp.asarray(zs, jnp.float32)[:, None], jnp.asarray(support), sigma))
        for k, z in enumerate(zs):
            ax.step(centres, probs[k], where="mid", color=f"C{k}", label=f"z = {z:g}")
            ax.axvline(z, color=f"C{k}", ls=":", lw=0.8)
        frac = np.mean(probs > threshold, axis=-1)
        ax.set_title(f"$\\sigma$ = {sigma:g} bins: {100 * frac.mean():.0f}% of bins > {threshold:g}", fontsize=10)
        ax.set_xlabel("bin centre (return)")
    np.atleast_1d(axes)[0].set_ylabel("mass in bin")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_embedding_comparison(q_min: float, q_max: float, sigma: float = 16.0, num: int = 401, every: int = 5):
    """Left: the size of each input feature vs z. Middle and right: the encodings as functions of z (every
    ``every``-th bin), i.e. the basis the first layer sees z through, for ``sigma`` and for a narrow 0.75 bins;
    min-max scaling (one straight line) is drawn on both for comparison."""
    z = np.linspace(q_min, q_max, num)
    s = embedding_sensitivity(z, q_min, q_max, sigma)
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(14, 3.4))
    a1.plot(z, s["raw_norm"], label="raw z")
    a1.plot(z, s["minmax_norm"], label="min-max (z - q_min)/(q_max - q_min)")
    a1.plot(z, s["hl_gauss_norm"], label=f"HL-Gauss, $\\sigma$={sigma:g} bins (L2 norm)")
    a1.set_yscale("log")
    a1.set_xlabel("z")
    a1.set_title("size of the input", fontsize=10)
    a1.legend(fontsize=7)
    support = hl_gauss_support(q_min, q_max)
    for ax, sig in ((a2, sigma), (a3, 0.75)):
        probs = np.asarray(hl_gauss_embed(jnp.asarray(z, jnp.float32)[:, None], support, sig))
        ax.plot(z, probs[:, ::every], lw=1)
        ax2 = ax.twinx()
        ax2.plot(z, np.asarray(minmax_embed(z, q_min, q_max)), "k--", lw=1)
        ax2.set_ylabel("min-max feature (dashed)", fontsize=8)
        ax.set_xlabel("z")
        ax.set_ylabel("bin mass")
        ax.set_title(f"HL-Gauss features, $\\sigma$ = {sig:g} bins (every {every}th bin)", fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------------------
# 3. Time features
# ---------------------------------------------------------------------------------------------------------------------


def plot_time_features(num_steps: int = 8, dim: int = 64, show_k: Sequence[int] = (1, 2, 4, 16, 64)):
    """Left: ``cos(t)`` and a few Fourier features on [0, 1], Euler times marked. Right: distances between the
    feature vectors of the K Euler times, for both encodings (how different each step looks to the network)."""
    t = np.linspace(0, 1, 801)[:, None]
    ti = (np.arange(num_steps) / num_steps)[:, None]
    four = np.asarray(time_features(jnp.asarray(t), "fourier", dim))
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(14, 3.6))
    a1.plot(t[:, 0], np.cos(t[:, 0]), color="k", lw=2.5, label="cos(t) (released code)")
    for k in show_k:
        a1.plot(t[:, 0], four[:, k - 1], lw=0.9, alpha=0.8, label=f"cos({k}$\\pi$t)")
    for x in ti[:, 0]:
        a1.axvline(x, color="grey", lw=0.5, ls=":")
    a1.set_xlabel("t (dotted: Euler times i/K, K=%d)" % num_steps)
    a1.legend(fontsize=7, ncol=2, loc="lower left")
    a1.set_title("time features", fontsize=10)
    for ax, kind, title in ((a2, "cos", "cos(t): 1 number"), (a3, "fourier", f"Fourier: {dim} numbers")):
        f = np.asarray(time_features(jnp.asarray(ti), kind, dim))
        d = np.linalg.norm(f[:, None] - f[None], axis=-1)
        im = ax.imshow(d, cmap="viridis")
        ax.set_xticks(range(num_steps), [f"{i}/{num_steps}" for i in range(num_steps)], fontsize=7)
        ax.set_yticks(range(num_steps), [f"{i}/{num_steps}" for i in range(num_steps)], fontsize=7)
        ax.set_title(f"{title}: distance between Euler times", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


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


def plot_compute_graph(num_steps: int = 4):
    """The actor's gradient path: through K field calls (flow critic) or through one call (distilled critic)."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(10, 4.6), gridspec_kw=dict(height_ratios=[1.4, 1]))
    box = dict(boxstyle="round,pad=0.35", fc="#e8f0fb", ec="C0")
    zbox = dict(boxstyle="round,pad=0.25", fc="white", ec="grey")
    for ax in (a1, a2):
        ax.set_xlim(-0.5, 2 * num_steps + 1.5)
        ax.set_ylim(-1.3, 1.3)
        ax.axis("off")
    a1.text(-0.3, 1.15, "flow critic in the actor loss: $Q(s,a) = z_K$", fontsize=10, ha="left")
    a1.text(0, 0, "$z_0$", bbox=zbox, ha="center", va="center")
    for i in range(num_steps):
        xv, xz = 2 * i + 1, 2 * i + 2
        a1.text(xv, 0, "$v_\\theta$", bbox=box, ha="center", va="center")
        a1.annotate("", (xv - 0.35, 0), (xv - 0.7 if i else 0.3, 0), arrowprops=dict(arrowstyle="->"))
        a1.annotate("", (xz - 0.3, 0), (xv + 0.35, 0), arrowprops=dict(arrowstyle="->"))
        a1.text(xz, 0, f"$z_{i + 1}$" if i + 1 < num_steps else "$z_K$", bbox=zbox, ha="center", va="center")
        a1.annotate("", (xv, 0.3), (xv, 0.9), arrowprops=dict(arrowstyle="->", color="C2"))
        a1.annotate("", (xv, -0.95), (xz - 0.1, -0.35), arrowprops=dict(arrowstyle="->", color="C3", ls="--"))
    a1.text(num_steps, 1.0, "(s, a) enter every call", color="C2", ha="center", fontsize=9)
    a1.text(num_steps, -1.2, "dQ/da flows back through all K calls (K forward + K backward passes, K activations kept)",
            color="C3", ha="center", fontsize=9)
    a2.text(-0.3, 1.1, "distilled critic (what floq's actor uses)", fontsize=10, ha="left")
    a2.text(num_steps, 0, "$Q_\\psi(s, a)$", bbox=box, ha="center", va="center")
    a2.annotate("", (num_steps, 0.3), (num_steps, 0.9), arrowprops=dict(arrowstyle="->", color="C2"))
    a2.text(num_steps, -0.9, "dQ/da: one forward + one backward pass", color="C3", ha="center", fontsize=9)
    fig.tight_layout()
    return fig


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


def plot_sum_vs_mean(traj: dict[str, np.ndarray]):
    """Distance between the 'sum' and the 'mean' runs over training, per optimiser and parameter group."""
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    pairs = [("adam_sum", "adam_mean", "Adam: sum vs mean"), ("sgd_sum", "sgd_mean", "SGD: sum vs mean"),
             ("sgd_sum", "sgd_mean_scaled", "SGD: sum vs mean with field lr x R")]
    for a, b, label in pairs:
        for group, ls in (("theta", "-"), ("psi", ":")):
            d = np.linalg.norm(traj[f"{a}/{group}"] - traj[f"{b}/{group}"], axis=-1) + 1e-12
            ax.plot(d, ls=ls, label=f"{label} ({'field' if group == 'theta' else 'critic'})")
    ax.set_yscale("log")
    ax.set_xlabel("gradient step")
    ax.set_ylabel("parameter distance (+1e-12)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------------------
# 6. Sliders for kappa and K
# ---------------------------------------------------------------------------------------------------------------------


def two_slider_plotly(
    a_values: Sequence[Any],
    b_values: Sequence[Any],
    traces_for: Callable[[int, int], list[dict]],
    a_label: str,
    b_label: str,
    layout: dict | None = None,
    initial: tuple[int, int] = (0, 0),
):
    """A plotly figure with two independent sliders over a precomputed grid; works without a kernel.

    ``traces_for(i, j)`` returns the trace dicts for ``a_values[i]``, ``b_values[j]``; every cell must return the
    same number of traces ``T``, and their non-data attributes (type, axes, colours) must depend on ``j`` only.
    Layout of the figure: ``len(b_values) * T`` traces, the block for ``j`` visible when slider b is at ``j``
    (slider b restyles ``visible``), while slider a restyles the *data* (``x``, ``y``) of all blocks to row ``i``.
    Each slider touches one attribute only, so either can move without undoing the other.
    """
    import plotly.graph_objects as go

    nb = len(b_values)
    cells = [[traces_for(i, j) for j in range(nb)] for i in range(len(a_values))]
    T = len(cells[0][0])
    i0, j0 = initial
    fig = go.Figure()
    for j in range(nb):
        for tr in cells[i0][j]:
            fig.add_trace(dict(tr, visible=(j == j0)))
    data_keys = ("x", "y")
    a_steps = []
    for i, a in enumerate(a_values):
        upd = {k: [cells[i][j][m].get(k) for j in range(nb) for m in range(T)] for k in data_keys}
        a_steps.append(dict(method="restyle", label=f"{a}", args=[upd]))
    b_steps = [dict(method="restyle", label=f"{b}", args=[{"visible": [jj == j for jj in range(nb) for _ in range(T)]}])
               for j, b in enumerate(b_values)]
    fig.update_layout(
        sliders=[
            dict(active=i0, steps=a_steps, currentvalue=dict(prefix=a_label + " = "), pad=dict(t=40), x=0.0,
                 len=0.48),
            dict(active=j0, steps=b_steps, currentvalue=dict(prefix=b_label + " = "), pad=dict(t=40), x=0.52,
                 len=0.48),
        ],
        **(layout or {}),
    )
    return fig


def kappa_k_plotly(grid: KappaKGrid, tier: str | None = None, bins: int = 40):
    """Kernel-free figure: slider 1 = kappa, slider 2 = K. Left: Euler paths; right: histogram of end values
    (Euler, blue) against the exact end values (grey)."""
    from plotly.subplots import make_subplots

    lo = float(min(grid.q_min * max(grid.kappas), np.min(grid.exact), np.min(grid.ends)))
    edges = np.linspace(lo - 1, 1, bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])

    def traces_for(i, j):
        K = grid.Ks[j]
        p = grid.paths[i][j]  # (K + 1, P)
        ts = np.linspace(0, 1, K + 1)
        xs = np.concatenate([np.append(ts, np.nan) for _ in range(p.shape[1])])
        ys = np.concatenate([np.append(p[:, m], np.nan) for m in range(p.shape[1])])
        h_e, _ = np.histogram(grid.ends[i, j], edges, density=True)
        h_x, _ = np.histogram(grid.exact[i], edges, density=True)
        return [
            dict(type="scatter", x=xs.tolist(), y=ys.tolist(), mode="lines+markers", marker=dict(size=3),
                 line=dict(width=1, color="#1f77b4"), name="Euler paths", xaxis="x", yaxis="y", showlegend=False),
            dict(type="bar", x=centres.tolist(), y=h_x.tolist(), marker=dict(color="rgba(0,0,0,0.25)"),
                 name="exact", xaxis="x2", yaxis="y2"),
            dict(type="bar", x=centres.tolist(), y=h_e.tolist(), marker=dict(color="rgba(31,119,180,0.7)"),
                 name=f"Euler, K steps", xaxis="x2", yaxis="y2"),
        ]

    base = make_subplots(rows=1, cols=2, subplot_titles=("Euler paths z(t)", "end values"))
    layout = base.layout.to_plotly_json()
    layout.update(
        barmode="overlay", height=430, margin=dict(t=60, b=110),
        title=dict(text="Noise coverage κ and Euler steps K (exact field)" + _tier_note(tier), font=dict(size=14)),
    )
    layout["xaxis"].update(title="t", range=[0, 1])
    layout["yaxis"].update(title="z", range=[lo - 2, 2])
    layout["xaxis2"].update(title="z at t = 1", range=[edges[0], edges[-1]])
    layout["yaxis2"].update(title="density")
    return two_slider_plotly(grid.kappas, grid.Ks, traces_for, "κ", "K", layout,
                             initial=(min(1, len(grid.kappas) - 1), min(2, len(grid.Ks) - 1)))


def kappa_k_widget(q_min: float = -100.0, target: GaussianMixture | None = None, num_paths: int = 21):
    """Live ipywidgets version (needs a running kernel): a log slider for kappa, a selection slider for K.

    Each new kappa compiles once (about a second); results are cached.
    """
    import ipywidgets as widgets
    from IPython.display import display

    cache: dict[float, KappaKGrid] = {}
    Ks = (1, 2, 4, 8, 16, 32)
    kappa_w = widgets.FloatLogSlider(value=0.1, base=10, min=-2, max=0, step=0.1, description="κ",
                                     continuous_update=False, readout_format=".2f")
    k_w = widgets.SelectionSlider(options=Ks, value=8, description="K", continuous_update=False)
    out = widgets.Output()

    def draw(kappa, K):
        key = round(float(kappa), 4)
        if key not in cache:
            cache[key] = kappa_k_grid((key,), Ks, target, q_min, num_paths=num_paths, num_points=201)
        g = cache[key]
        j = Ks.index(K)
        with out:
            out.clear_output(wait=True)
            fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.5))
            a1.axhspan(key * q_min, 0, color="C1", alpha=0.12)
            a1.plot(np.linspace(0, 1, K + 1), g.paths[0][j], color="C0", lw=1, marker=".", ms=3)
            a1.set_xlabel("t")
            a1.set_ylabel("z")
            edges = np.linspace(min(q_min * 0.7, g.exact.min() - 2), 1, 50)
            a2.hist(g.exact[0], edges, density=True, color="grey", alpha=0.5, label="exact")
            a2.hist(g.ends[0, j], edges, density=True, color="C0", alpha=0.6, label=f"Euler, K={K}")
            a2.set_title(f"error {g.error[0, j]:.2f}, spread kept {100 * g.spread[0, j]:.0f}%", fontsize=10)
            a2.legend(fontsize=8)
            plt.show()

    ui = widgets.interactive_output(draw, dict(kappa=kappa_w, K=k_w))
    display(widgets.VBox([widgets.HBox([kappa_w, k_w]), out, ui]))
    return kappa_w, k_w
