"""Seeds sharded over several devices give the same training as on one device.

Runs in a subprocess with XLA's host-platform device count forced to 2, so the CPU shows two devices and
``create_seeds`` places the seed axis across them through ``jax.sharding``.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

SCRIPT = textwrap.dedent(
    """
    import json, jax, jax.numpy as jnp, numpy as np
    from floq_lite.agents import FloqAgent, sample_batches
    from floq_lite.config import make_config, with_reward_range

    rng = np.random.default_rng(0)
    n, ds, da, b = 64, 5, 2, 8
    data = {
        "observations": jnp.asarray(rng.normal(size=(n, ds)), jnp.float32),
        "actions": jnp.asarray(rng.uniform(-1, 1, (n, da)), jnp.float32),
        "rewards": jnp.asarray(-rng.integers(0, 2, n), jnp.float32),
        "masks": jnp.asarray(rng.integers(0, 2, n), jnp.float32),
        "next_observations": jnp.asarray(rng.normal(size=(n, ds)), jnp.float32),
    }
    cfg = make_config("floq", tier="smoke", block_width=16, noise_samples=2, critic_flow_steps=2,
                      actor_hidden_dims=(16, 16), value_hidden_dims=(16, 16), batch_size=b)
    cfg = with_reward_range(cfg, np.array([-1.0, 0.0]))
    agents = FloqAgent.create_seeds([0, 1], data["observations"], data["actions"], cfg)
    batches = sample_batches(data, jax.random.PRNGKey(1), 2, b)  # seed s gets batch s
    for _ in range(3):
        agents, info = FloqAgent.update_seeds(agents, batches)
    leaf = jax.tree.leaves(agents.params)[0]
    print(json.dumps({
        "devices": jax.local_device_count(),
        "leaf_devices": len(leaf.sharding.device_set),
        "loss": np.asarray(info["critic/critic_loss"]).tolist(),
    }))
    """
)


def _run(device_count: int) -> dict:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={device_count}", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_seed_axis_is_sharded_over_devices_and_matches_one_device():
    two, one = _run(2), _run(1)
    assert two["devices"] == 2 and two["leaf_devices"] == 2, "seed axis should be split over both devices"
    assert one["devices"] == 1 and one["leaf_devices"] == 1
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-4)
