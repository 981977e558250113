"""``floq-lite render``: a GIF of a trained agent acting in its OGBench environment (headless MuJoCo).

floq-lite render RUN_DIR --out FILE.gif [--episodes 1] [--seed-index I]
"""

from __future__ import annotations

import argparse
import os

from floq_lite.cli.data import _count
from floq_lite.cli.train import fail

HELP = "render a trained agent's episodes to a GIF (headless; MUJOCO_GL=egl, osmesa fallback)"

EPILOG = """\
Rendering is headless: MUJOCO_GL defaults to egl (set it to osmesa where EGL is missing). Shadows are off (5x faster).

example:
  floq-lite render runs/pointmaze-medium-navigate-singletask-v0-floq-smoke --out agent.gif
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Fill in the ``render`` parser."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by `floq-lite train`")
    parser.add_argument("--out", required=True, metavar="FILE.gif", help="GIF file to write")
    parser.add_argument("--episodes", type=_count(1), default=1, metavar="N", help="episodes (default: %(default)s)")
    parser.add_argument("--seed-index", type=_count(0), default=0, metavar="I",
                        help="which seed of the run acts (default: %(default)s)")
    parser.add_argument("--size", type=_count(16), default=200, metavar="PX",
                        help="frame width and height in pixels (default: %(default)s)")
    parser.add_argument("--every", type=_count(1), default=4, metavar="N",
                        help="keep every N-th frame (default: %(default)s)")
    parser.add_argument("--fps", type=_count(1), default=30, help="GIF frames per second (default: %(default)s)")
    parser.add_argument("--max-episode-steps", type=_count(1), default=None, metavar="T",
                        help="cap episodes at T steps (default: the env's limit)")
    parser.set_defaults(func=run)


def render_frames(agent_state, env_name: str, seed: int, episodes: int, size: int, every: int,
                  max_episode_steps: int | None = None):
    """Frames ``(H, W, 3) uint8`` of ``episodes`` episodes of the (single-seed, vmapped) ``agent_state``."""
    import mujoco
    import numpy as np

    from floq_lite import evaluation

    env = evaluation.make_env(env_name, max_episode_steps, width=size, height=size)
    frames, successes = [], []
    for ep in range(episodes):
        ob, _ = evaluation.seeded_reset(env, evaluation._reset_seed(seed, 0, ep))
        first = env.render()  # creates the renderer
        renderer = getattr(env.unwrapped, "custom_renderer", None)
        if renderer is not None:
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
            first = env.render()
        frames.append(np.asarray(first))
        t, done, info = 0, False, {}
        while not done:
            action = evaluation.act(agent_state, ob, seed=seed, episode=ep, t=t)
            ob, _, terminated, truncated, info = env.step(action)
            t += 1
            done = terminated or truncated
            if t % every == 0 or done:
                frames.append(np.asarray(env.render()))
        successes.append(float(info.get("success", 0.0)))
    env.close()
    return frames, successes


def run(args: argparse.Namespace) -> int:
    from floq_lite.rendering import headless_gl

    try:
        headless_gl()  # before mujoco is imported (by ogbench): EGL, else OSMesa, else say what to install
    except RuntimeError as exc:
        return fail("render", str(exc), 1)
    import imageio.v2 as imageio

    from floq_lite import training
    from floq_lite.cli.eval import load_agents

    if not args.out.lower().endswith(".gif"):
        return fail("render", f"--out must end in .gif, got {args.out!r}", 2)
    try:
        meta, agents, seeds, step = load_agents(args.run_dir, args.seed_index)
    except training.TrainingError as exc:
        return fail("render", str(exc), 2)
    try:
        frames, successes = render_frames(agents, meta["env_name"], seeds[0], args.episodes, args.size, args.every,
                                          args.max_episode_steps)
    except Exception as exc:
        if "gl" in type(exc).__name__.lower() or "GL" in str(exc) or "EGL" in str(exc):
            return fail("render", f"OpenGL context failed with MUJOCO_GL={os.environ['MUJOCO_GL']} ({exc}); "
                                  "try MUJOCO_GL=osmesa (apt install libosmesa6) or run where a GPU/EGL exists.", 1)
        raise
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    imageio.mimsave(args.out, frames, duration=1000 / args.fps, loop=0)
    print(f"wrote {args.out}: {len(frames)} frames, {args.episodes} episode(s) of seed {seeds[0]} at step {step}, "
          f"success {successes}")
    return 0
