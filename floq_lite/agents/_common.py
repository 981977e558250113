"""Pieces both agents share: batch validation, the Adam step + EMA, update loops, and seed vmapping/sharding."""

from __future__ import annotations

import functools
from typing import Any, Callable, ClassVar, Sequence, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from floq_lite.actor import fql as actor_lib  # both agents act with FQL's one-step policy
from floq_lite.jitting import jit_by_options, jit_once
from floq_lite.networks.critics import freeze_features

Array = jax.Array
Params = Any
A = TypeVar("A")

BATCH_KEYS: tuple[str, ...] = ("observations", "actions", "rewards", "masks", "next_observations")


def random_transitions(n: int, obs_dim: int, action_dim: int, seed: int = 0) -> dict[str, jax.Array]:
    """``n`` random transitions in the batch format (:data:`BATCH_KEYS`), for tests and benchmarks: normal
    observations, actions in [-1, 1], rewards in {-1, 0}, masks in {0, 1}; the same ``seed`` gives the same data."""
    rng = np.random.default_rng(seed)
    return {
        "observations": jnp.asarray(rng.normal(size=(n, obs_dim)), jnp.float32),
        "actions": jnp.asarray(rng.uniform(-1, 1, (n, action_dim)), jnp.float32),
        "rewards": jnp.asarray(-rng.integers(0, 2, n), jnp.float32),
        "masks": jnp.asarray(rng.integers(0, 2, n), jnp.float32),
        "next_observations": jnp.asarray(rng.normal(size=(n, obs_dim)), jnp.float32),
    }


def check_batch_shapes(batch: dict[str, Array], obs_dim: int, action_dim: int) -> int:
    """Validate keys and shapes of one batch (works on tracers, so it fires when ``update`` is traced).

    Returns:
      The batch size ``B``.
    """
    missing = [k for k in BATCH_KEYS if k not in batch]
    if missing:
        raise ValueError(f"batch is missing {missing}; a batch needs {', '.join(BATCH_KEYS)}.")
    B = batch["observations"].shape[0]
    want = {
        "observations": (B, obs_dim),
        "actions": (B, action_dim),
        "rewards": (B,),
        "masks": (B,),
        "next_observations": (B, obs_dim),
    }
    for k, shape in want.items():
        if tuple(batch[k].shape) != shape:
            raise ValueError(f"batch[{k!r}] has shape {tuple(batch[k].shape)}, expected {shape} "
                             f"(B={B}, obs_dim={obs_dim}, action_dim={action_dim}); rewards/masks are flat (B,).")
    return B


def check_batch_finite(batch: dict[str, Any]) -> None:
    """Host-side check: raise a ``ValueError`` naming the field and first row with a NaN/inf."""
    for k in BATCH_KEYS:
        x = np.asarray(batch[k])
        bad = ~np.isfinite(x)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise ValueError(f"batch[{k!r}] contains NaN/inf (first at row {row}); clean the dataset "
                             f"(e.g. drop those transitions) before training.")


def count_nonfinite(batch: dict[str, Array]) -> Array:
    """Number of NaN/inf entries in a batch (logged as ``batch/nonfinite`` by ``update``)."""
    return sum(jnp.sum(~jnp.isfinite(batch[k])) for k in BATCH_KEYS)


def make_optimizer(config: Any) -> optax.GradientTransformation:
    """The agents' optimiser: plain Adam at ``config.lr`` (no weight decay, no gradient clipping), as the official
    code. It holds only the trainable parameters; see :func:`adam_step`."""
    return optax.adam(config.lr)


def adam_step(tx: optax.GradientTransformation, params: Params, opt_state: Any, grads: Params) -> tuple[Params, Any]:
    """One optimizer step on the trainable parameters."""
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def ema(online: Params, target: Params, tau: float) -> Params:
    """Polyak average ``tau * online + (1 - tau) * target``."""
    return jax.tree.map(lambda p, tp: tau * p + (1.0 - tau) * tp, online, target)


def scan_updates(update: Callable[[A, dict], tuple[A, dict]], agent: A, batches: dict[str, Array]) -> tuple[A, dict]:
    """Apply ``update`` once per leading index of ``batches`` with ``lax.scan``; infos are stacked ``(T, ...)``."""
    return jax.lax.scan(update, agent, batches)


def scan_sampled_updates(
    update: Callable[[A, dict], tuple[A, dict]],
    agent: A,
    dataset: dict[str, Array],
    key: Array,
    num_steps: int,
    batch_size: int,
) -> tuple[A, dict]:
    """``num_steps`` updates on batches drawn uniformly (with replacement) *inside* the scan from device arrays.

    Step ``i`` uses indices ``randint(split(key, num_steps)[i], (batch_size,), 0, M)``; :func:`sample_batches`
    draws the same batches outside (for tests and for inspecting them).
    """
    size = dataset["observations"].shape[0]

    def body(ag, k):
        idx = jax.random.randint(k, (batch_size,), 0, size)
        return update(ag, jax.tree.map(lambda x: x[idx], dataset))

    return jax.lax.scan(body, agent, jax.random.split(key, num_steps))


def sample_batches(dataset: dict[str, Array], key: Array, num_steps: int, batch_size: int) -> dict[str, Array]:
    """The batches :func:`scan_sampled_updates` uses, stacked ``(num_steps, batch_size, ...)``."""
    size = dataset["observations"].shape[0]
    idx = jax.vmap(lambda k: jax.random.randint(k, (batch_size,), 0, size))(jax.random.split(key, num_steps))
    return jax.tree.map(lambda x: x[idx], dataset)


def seed_sharding(num_seeds: int) -> NamedSharding | None:
    """A sharding of a leading seed axis over the local devices (None on one device or if it does not divide)."""
    devices = jax.local_devices()
    if len(devices) < 2 or num_seeds % len(devices):
        return None
    return NamedSharding(Mesh(np.asarray(devices), ("seeds",)), PartitionSpec("seeds"))


def shard_seeds(tree: A) -> A:
    """Place a pytree whose leaves have a leading seed axis across the local devices (no-op on one device)."""
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return tree
    sharding = seed_sharding(leaves[0].shape[0])
    return tree if sharding is None else jax.device_put(tree, sharding)


def as_seed_array(seeds: Sequence[int] | Array) -> Array:
    """Seeds as an int32 vector ``(S,)``."""
    seeds = jnp.asarray(seeds, dtype=jnp.int32)
    if seeds.ndim != 1 or seeds.shape[0] < 1:
        raise ValueError(f"seeds must be a non-empty 1-D sequence of ints, got shape {seeds.shape}.")
    return seeds


def apply_fn(module):
    """``module.apply`` as ``f(params, *inputs)``."""
    return lambda params, *args: module.apply({"params": params}, *args)


def _agent_options(agent: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    return agent.compile_options()


def jit_agent(fun: Callable[..., Any] | None = None, **jit_kwargs: Any) -> Any:
    """``jax.jit`` for a function whose first argument is an agent (or a stack of seeds), passed by position:
    compiled with the agent's :meth:`AgentMethods.compile_options`. Use as ``@jit_agent`` or
    ``@jit_agent(static_argnums=...)``."""
    if fun is None:
        return functools.partial(jit_by_options, options_of=_agent_options, **jit_kwargs)
    return jit_by_options(fun, _agent_options, **jit_kwargs)


class AgentMethods:
    """The update step, update loops and seed vmapping shared by the agents.

    A subclass defines ``networks()``, ``total_loss(trainable, batch, rng) -> (loss, info)`` and
    ``create(seed, ex_observations, ex_actions, config)``, and names its parameter groups below.
    """

    TRAINABLE: ClassVar[tuple[str, ...]]  # parameter groups that Adam trains
    TARGET: ClassVar[tuple[str, str]]  # (online, target): the one network with an EMA copy

    def compile_options(self) -> dict[str, Any]:
        """XLA options for this agent's training steps (:func:`jit_agent`); the defaults unless a subclass measured
        better ones for its sizes."""
        return {}

    def _update(self, batch: dict[str, Array]):
        check_batch_shapes(batch, self.obs_dim, self.action_dim)
        new_rng, rng = jax.random.split(self.rng)
        trainable = {k: self.params[k] for k in self.TRAINABLE}
        grads, info = jax.grad(self.total_loss, has_aux=True)(trainable, batch, rng)
        new_trainable, opt_state = adam_step(make_optimizer(self.config), trainable, self.opt_state, grads)
        # As in the official code, the EMA averages the online network from BEFORE this optimizer step.
        online, target = self.TARGET
        target_params = ema(trainable[online], self.params[target], self.config.tau)
        freeze_at = self.config.freeze_features_at
        if freeze_at is not None:
            # The follow-up paper's protocol: from this step on only the critic's head learns; its target is the
            # frozen online features with the EMA head. The features stay exactly as they are: unlike the official
            # code, where Adam's leftover momentum moves them for about a hundred steps, the update is discarded.
            new_trainable[online], target_params = freeze_features(
                trainable[online], new_trainable[online], self.params[target], target_params, self.step >= freeze_at)
        info["grad/norm"] = optax.tree.norm(grads)
        info["batch/nonfinite"] = count_nonfinite(batch)
        new = self.replace(rng=new_rng, params={**new_trainable, target: target_params}, opt_state=opt_state,
                           step=self.step + 1)
        return new, info

    @jax.jit
    def sample_actions(self, observations: Array, rng: Array) -> Array:
        """``clip(mu(s, xi), -1, 1)``, ``xi ~ N(0, I)``: ``(N, d_s) -> (N, d_a)``."""
        onestep = apply_fn(self.networks()["actor_onestep_flow"])
        return actor_lib.sample_actions(onestep, self.params["actor_onestep_flow"], observations, rng)

    @jit_agent
    def update(self, batch: dict[str, Array]):
        """One jitted gradient step on all losses (one Adam step), then the target EMA. Returns ``(agent, info)``."""
        return self._update(batch)

    @jit_agent
    def update_many(self, batches: dict[str, Array]):
        """``T`` updates in one call: ``batches`` leaves have a leading step axis ``(T, B, ...)``.

        Returns the final agent and the per-step infos stacked ``(T,)``.
        """
        return scan_updates(lambda ag, b: ag._update(b), self, batches)

    def update_many_sampled(self, dataset: dict[str, Array], key: Array, num_steps: int):
        """``num_steps`` updates on batches of ``config.batch_size`` sampled inside the scan from ``dataset``
        (device arrays ``(M, ...)``), avoiding a host transfer per step. Returns ``(agent, stacked infos)``."""
        return _sampled(self, dataset, key, num_steps, self.config.batch_size)

    @classmethod
    def create_seeds(cls, seeds: Sequence[int] | Array, ex_observations: Array, ex_actions: Array, config: Any):
        """``S`` independent agents stacked on a leading seed axis (``jax.vmap`` of ``create``), sharded over the
        local devices when there are several."""
        seeds = as_seed_array(seeds)
        # One program for the whole initialisation, compiled without optimisation passes (it runs once:
        # floq_lite/jitting.py), bit-identical to the eager one (tests/test_agents.py). create reads only the
        # first row of the examples, so only that row is passed: a dataset never becomes a compiled constant.
        ex_obs, ex_act = jnp.asarray(ex_observations)[:1], jnp.asarray(ex_actions)[:1]
        create = jax.vmap(lambda s, o, a: cls.create(s, o, a, config), in_axes=(0, None, None))
        agents = jit_once(create)(seeds, ex_obs, ex_act)
        return shard_seeds(agents)

    @staticmethod
    def update_seeds(agents: Any, batches: dict[str, Array], shared_batch: bool = False):
        """One update of every seed: ``batches`` are ``(S, B, ...)`` (one batch per seed) or ``(B, ...)`` shared."""
        return (_vmapped_update_shared if shared_batch else _vmapped_update)(agents, batches)

    @staticmethod
    def update_many_seeds(agents: Any, batches: dict[str, Array]):
        """``T`` updates of every seed: ``batches`` are ``(S, T, B, ...)``."""
        return _vmapped_update_many(agents, batches)


@jit_agent
def _vmapped_update(agents, batches):
    return jax.vmap(lambda a, b: a._update(b))(agents, batches)


@jit_agent
def _vmapped_update_shared(agents, batch):
    return jax.vmap(lambda a: a._update(batch))(agents)


@jit_agent
def _vmapped_update_many(agents, batches):
    return jax.vmap(lambda a, b: scan_updates(lambda ag, bb: ag._update(bb), a, b))(agents, batches)


def _sampled_impl(agent, dataset, key, num_steps, batch_size):
    return scan_sampled_updates(lambda ag, b: ag._update(b), agent, dataset, key, num_steps, batch_size)


_sampled = jit_agent(_sampled_impl, static_argnums=(3, 4))
