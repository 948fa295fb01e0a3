#!/bin/bash
# Every GPU check of the open issues in one command, most needed first, each under its own time
# limit, so that one call of the device tool (15 minutes of device time per session, the machine's
# start included) runs them all and a hang in one part cannot eat the others' time:
#
#   PYTHONUNBUFFERED=1 bash tools/gpu_session.sh      (repository root, on the GPU machine)
#
# 1. soft-DTW kernels (issue 3)          tools/gpu_kernels.py       ≤ 150 s
# 2. training step, reference vs fast    tools/gpu_train_step.py    ≤ 200 s  (issue 7)
# 3. ViT-L/14 prior speed (issue 4)      tools/gpu_prior.py         ≤ 90 s
# 4. one paper-preset Vi-ST run          tools/gpu_paper_run.py     ≤ 300 s  (issue 5)
#
# Logs and JSON land in $OUT (each script writes its own file there); the paper run's stored
# run is copied to $OUT/<run_id>/ for committing under benchmarks/ with its provenance.
# Set PARTS="1 3" to run only some parts; STEP_BUDGET (s) and STEP_ARGS pass on to part 2.
set -u
OUT=${OUT:-/tmp/vist-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 TQDM_DISABLE=1 OUT
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$OUT/device.txt"
python -c "import torch, triton; print('torch', torch.__version__, '| triton', triton.__version__)" 2>&1 | tee -a "$OUT/device.txt"
start=$(date +%s)
part() {  # number, limit (s), log name, command...
  local n=$1 limit=$2 name=$3; shift 3
  case " ${PARTS:-1 2 3 4} " in *" $n "*) ;; *) return ;; esac
  local s=$(date +%s)
  echo "=== part $n: $name (limit ${limit}s, $(( s - start ))s into the session)"
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
  echo "=== part $n: $name rc=${PIPESTATUS[0]} in $(( $(date +%s) - s ))s"
}
part 1 150 kernels python tools/gpu_kernels.py
part 2 $(( ${STEP_BUDGET:-170} + 30 )) train_step python tools/gpu_train_step.py --budget ${STEP_BUDGET:-170} ${STEP_ARGS:-}
part 3 90 prior python tools/gpu_prior.py
part 4 300 paper_run python tools/gpu_paper_run.py
echo "=== all parts done in $(( $(date +%s) - start ))s"
