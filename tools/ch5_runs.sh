#!/usr/bin/env bash
# Chapter 5's committed runs: floq and FQL on pointmaze-medium task 3 at equal sizes and equal steps, and floq's
# K sweep. Each command is resumable: run it again with --resume (same arguments) after a stop.
#   tools/ch5_runs.sh DATA_DIR RUNS_DIR [floq|fql|k1|k4|all]      (then: python tools/ch5_artifacts.py RUNS_DIR)
#   tools/ch5_runs.sh DATA_DIR RUNS_DIR [fql-freeze|floq-freeze|freeze]   chapter 8's feature freeze at 25% of the
#     same budget (then: python tools/ch5_artifacts.py RUNS_DIR --freeze)
# DATA_DIR must hold the full-size dataset: floq-lite data generate pointmaze-medium-navigate-v0 --dataset-dir DIR
# On a 2-core CPU: FQL ~15 min, floq (5 seeds) ~1.5 h, K = 1 and K = 4 (3 seeds each) ~1 h together; the freeze
# runs as long as their unfrozen twins (the frozen layers' gradients are still computed, then discarded); floq's
# freeze run has 3 seeds (the 5-seed run took 2.7 h), paired with seeds 0-2 of the unfrozen run.
set -euo pipefail
DATA=${1:?dataset directory}; RUNS=${2:?runs directory}; WHICH=${3:-all}; shift 3 2>/dev/null || shift $#
ENV=pointmaze-medium-navigate-singletask-task3-v0
STEPS=300000
# Sizes shared by both agents (the paper: 4x512 networks, batch 256); evaluation as the paper's protocol, scaled.
COMMON=(--tier teach --steps $STEPS --dataset-dir "$DATA" --no-progress
        --set 'actor_hidden_dims=(64,64)' --set 'value_hidden_dims=(64,64)' --set batch_size=64
        --set eval_interval=10000 --set eval_episodes=20 --set log_interval=2000)
FLOQ=(--set block_width=64 --set noise_samples=4)  # velocity field 2x64; R = 4 noise samples (paper: 8)
FREEZE=(--set freeze_features_at=$((STEPS / 4)))   # the follow-up freezes features after a quarter of training
resume() { [[ -f "$1/config.json" ]] && echo --resume || true; }
run() {  # name, then floq-lite train arguments
  local out="$RUNS/$1"; shift
  floq-lite train "$ENV" --out "$out" $(resume "$out") "${COMMON[@]}" "$@"
}
case "$WHICH" in
  fql|all) run fql --agent fql --seeds 5 ;;&
  floq|all) run floq --agent floq --seeds 5 "${FLOQ[@]}" ;;&
  k1|all) run floq-k1 --agent floq --seeds 3 "${FLOQ[@]}" --set critic_flow_steps=1 ;;&
  k4|all) run floq-k4 --agent floq --seeds 3 "${FLOQ[@]}" --set critic_flow_steps=4 ;;
  fql-freeze|freeze) run fql-freeze --agent fql --seeds 5 "${FREEZE[@]}" ;;&
  floq-freeze|freeze) run floq-freeze --agent floq --seeds 3 "${FLOQ[@]}" "${FREEZE[@]}" ;;
  *) ;;
esac
