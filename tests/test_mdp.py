"""The chapter-3 maze: transition model, value iteration against closed forms, the exact offline dataset."""

import numpy as np
import pytest

from floq_lite.studies import mdp


def test_deterministic_corridor_matches_closed_form():
    # One row, goal at the right end, no slip: from d cells away, "right" pays -1 for d-1 steps, then 0.
    gamma = 0.9
    corridor = mdp.make_maze(("....G",), slip=0.0, discount=gamma)
    q = mdp.value_iteration(corridor)
    right, left = 1, 3
    for s in range(4):
        d = 4 - s
        assert q[s, right] == pytest.approx(-(1 - gamma ** (d - 1)) / (1 - gamma), abs=1e-9)
    # Moving left from the first cell bumps into the border: pay -1 and be back where we started.
    assert q[0, left] == pytest.approx(-1 + gamma * q[0, right], abs=1e-9)
    assert q[corridor.goal].tolist() == [0.0] * 4


def test_slippery_two_cell_corridor_by_hand():
    # ".G" with slip p: "right" reaches the goal w.p. 1 - 3p/4 (reward 0), else stays (reward -1).
    # So V = Q(right) = (1 - 3p/4) * 0 + (3p/4) * (-1 + gamma V)  =>  V = -(3p/4) / (1 - gamma * 3p/4).
    p, gamma = 0.4, 0.95
    tiny = mdp.make_maze((".G",), slip=p, discount=gamma)
    q = mdp.value_iteration(tiny)
    stay = 3 * p / 4
    v = -stay / (1 - gamma * stay)
    assert q[0, 1] == pytest.approx(v, abs=1e-9)
    # Any other action reaches the goal only by slipping right (p/4).
    assert q[0, 0] == pytest.approx((1 - p / 4) * (-1 + gamma * v), abs=1e-9)


def test_default_maze_bellman_residual_and_scale():
    maze = mdp.make_maze()
    np.testing.assert_allclose(maze.transitions.sum(-1), 1.0, atol=1e-12)
    q_star = mdp.value_iteration(maze)
    assert mdp.bellman_residual(maze, q_star) < 1e-8
    # A wrong Q has a clearly non-zero residual.
    assert mdp.bellman_residual(maze, q_star + 1.0) > 0.01
    nt = q_star[maze.nonterminal]
    assert -20 < nt.min() < -10 and -1 < nt.max() < 0  # returns over "a few tens" of units, like floq's
    assert maze.reward_range == (-1.0, 0.0)


def test_dataset_reproduces_the_transition_kernel_exactly():
    maze = mdp.make_maze()
    data = mdp.transition_dataset(maze, samples_per_pair=20)
    n_pairs = maze.nonterminal.sum() * maze.num_actions
    assert len(data["state"]) == n_pairs * 20
    assert maze.goal not in set(data["state"].tolist())
    counts = np.zeros_like(maze.transitions)
    np.add.at(counts, (data["state"], data["action"], data["next_state"]), 1)
    np.testing.assert_allclose(counts[maze.nonterminal] / 20, maze.transitions[maze.nonterminal], atol=1e-12)
    into_goal = data["next_state"] == maze.goal
    assert np.all(data["reward"][into_goal] == 0) and np.all(data["mask"][into_goal] == 0)
    assert np.all(data["reward"][~into_goal] == -1) and np.all(data["mask"][~into_goal] == 1)


def test_dataset_refuses_counts_that_cannot_be_exact():
    with pytest.raises(ValueError, match="samples_per_pair"):
        mdp.transition_dataset(mdp.make_maze(), samples_per_pair=7)


def test_bad_layouts_are_explained():
    with pytest.raises(ValueError, match="exactly one goal"):
        mdp.make_maze(("...",))
    with pytest.raises(ValueError, match="same length"):
        mdp.make_maze(("..G", "."))


def test_one_step_target_distribution():
    maze = mdp.make_maze()
    q_star = mdp.value_iteration(maze)
    spread = mdp.one_step_target_std(maze, q_star)
    assert spread.shape == q_star.shape and np.all(spread >= 0)
    # With slip every non-goal pair has several possible next states, so most targets are random.
    assert np.mean(spread[maze.nonterminal] > 1e-6) > 0.9
    s, a = 0, 1
    cum, values = mdp.one_step_target_quantiles(maze, q_star, s, a)
    assert cum[-1] == pytest.approx(1.0) and np.all(np.diff(values) > 0) and np.all(np.diff(cum) > 0)
    mean = np.sum(np.diff(np.concatenate([[0.0], cum])) * values)
    assert mean == pytest.approx(q_star[s, a], abs=1e-9)  # the targets average to Q*


# --- chapter 7: policy evaluation, coordinates, generated mazes ----------------------------------------------------


def test_policy_evaluation_on_a_corridor_matches_closed_forms():
    gamma = 0.9
    corridor = mdp.make_maze(("....G",), slip=0.0, discount=gamma)
    right, left = 1, 3
    v = mdp.policy_evaluation(corridor, np.full(corridor.num_states, right))
    for s in range(4):  # d cells from the goal: d - 1 steps of -1, then the free step into the goal
        d = 4 - s
        assert v[s] == pytest.approx(-(1 - gamma ** (d - 1)) / (1 - gamma), abs=1e-9)
    assert v[corridor.goal] == 0.0
    # "left" never arrives: -1 for ever.
    stuck = mdp.policy_evaluation(corridor, np.full(corridor.num_states, left))
    np.testing.assert_allclose(stuck[:4], -1 / (1 - gamma), atol=1e-9)
    # The greedy policy of Q* has no gap and agrees everywhere; a policy that goes left loses what the closed forms say.
    q_star = mdp.value_iteration(corridor)
    assert mdp.greedy_policy_gap(corridor, q_star, q_star) == pytest.approx(0.0, abs=1e-9)
    assert mdp.greedy_agreement(corridor, q_star, q_star) == 1.0
    q_left = np.zeros_like(q_star)
    q_left[:, left] = 1.0
    assert mdp.greedy_agreement(corridor, q_left, q_star) == 0.0
    assert mdp.greedy_policy_gap(corridor, q_left, q_star) == pytest.approx(np.mean(v[:4] + 1 / (1 - gamma)))
    with pytest.raises(ValueError, match="shape"):
        mdp.policy_evaluation(corridor, np.zeros(3))


def test_policy_evaluation_of_q_star_greedy_is_v_star_on_a_slippery_maze():
    maze = mdp.make_maze()
    q_star = mdp.value_iteration(maze)
    v = mdp.policy_evaluation(maze, mdp.greedy_actions(q_star))
    np.testing.assert_allclose(v[maze.nonterminal], q_star.max(axis=1)[maze.nonterminal], atol=1e-8)


def test_generated_layouts_are_connected_deterministic_and_have_one_goal():
    for size, seed in ((11, 0), (15, 1), (7, 3)):
        layout = mdp.generated_layout(size, size, seed=seed)
        assert layout == mdp.generated_layout(size, size, seed=seed)
        assert len(layout) == size and {len(r) for r in layout} == {size} and "".join(layout).count("G") == 1
        maze = mdp.make_maze(layout, slip=0.0)
        q = mdp.value_iteration(maze)
        # Every free cell reaches the goal: its value is above the never-arriving -1 / (1 - gamma).
        assert q.max(axis=1)[maze.nonterminal].min() > -1 / (1 - maze.discount) + 1e-6
    assert mdp.generated_layout(11, 11, seed=0) != mdp.generated_layout(11, 11, seed=1)
    more = sum(r.count(".") for r in mdp.generated_layout(11, 11, seed=0, loops=0.5))
    assert more > sum(r.count(".") for r in mdp.generated_layout(11, 11, seed=0, loops=0.0))
    with pytest.raises(ValueError, match="3 x 3"):
        mdp.generated_layout(2, 5)


def test_state_features():
    maze = mdp.make_maze()
    onehot = mdp.state_features(maze, "onehot")
    np.testing.assert_array_equal(onehot, np.eye(maze.num_states))
    coords = mdp.state_features(maze, "coords")
    assert coords.shape == (maze.num_states, 2) and coords.min() == -1.0 and coords.max() == 1.0
    assert len({tuple(c) for c in coords}) == maze.num_states  # every state has its own coordinates
    with pytest.raises(ValueError, match="inputs"):
        mdp.state_features(maze, "pixels")
