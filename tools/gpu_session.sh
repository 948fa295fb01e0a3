#!/bin/bash
# The GPU checks of the open issues in one command, most needed first, each under its own time
# limit, so that one call of the device tool (15 minutes of device time per session, the machine's
# start included) runs them and a hang in one part cannot eat the others' time:
#
#   PYTHONUNBUFFERED=1 bash tools/gpu_session.sh      (repository root, on the GPU machine)
#
# 1. soft-DTW kernels and tile sweep (issue 3)   tools/gpu_kernels.py      ≤ 150 s
# 2. training step, reference vs fast (issue 7)  tools/gpu_train_step.py   ≤ STEP_BUDGET + 30 s
# 3. ViT-L/14 prior speed (issue 4, closed)      tools/gpu_prior.py        ≤ 90 s
# 4. one paper-preset Vi-ST run (issue 5)        tools/gpu_paper_run.py    ≤ 300 s
#
# Default: parts 1 and 2 (about 5 minutes on an H100), which leaves time for a second call.
# Set PARTS="1 2 4" to choose parts; STEP_BUDGET (s, default 240) and STEP_ARGS (e.g.
# --skip-kernels) pass on to part 2. All output goes to $OUT/session.log (one file: the device
# tool returns at most 8), each script writes its JSON there, and the paper run's run.json and
# predictions.npz are copied to $OUT/<run_id>/ for committing under benchmarks/.
set -u
OUT=${OUT:-/tmp/vist-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 TQDM_DISABLE=1 OUT
LOG="$OUT/session.log"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$LOG"
python -c "import torch, triton; print('torch', torch.__version__, '| triton', triton.__version__)" 2>&1 | tee -a "$LOG"
start=$(date +%s)
part() {  # number, limit (s), log name, command...
  local n=$1 limit=$2 name=$3; shift 3
  case " ${PARTS:-1 2} " in *" $n "*) ;; *) return ;; esac
  local s=$(date +%s)
  echo "=== part $n: $name (limit ${limit}s, $(( s - start ))s into the session)" | tee -a "$LOG"
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$LOG"
  echo "=== part $n: $name rc=${PIPESTATUS[0]} in $(( $(date +%s) - s ))s" | tee -a "$LOG"
}
part 1 150 kernels python tools/gpu_kernels.py
part 2 $(( ${STEP_BUDGET:-240} + 30 )) train_step python tools/gpu_train_step.py --budget ${STEP_BUDGET:-240} ${STEP_ARGS:-}
part 3 90 prior python tools/gpu_prior.py
part 4 300 paper_run python tools/gpu_paper_run.py
echo "=== all parts done in $(( $(date +%s) - start ))s" | tee -a "$LOG"
