# A fast toy template for graph tests. Every execution appends one line to executions.log.
import argparse
import json
import os

STEP = 0.5  # the value the scripted model edits

parser = argparse.ArgumentParser()
parser.add_argument("--out_dir", type=str, default="run_0")
args = parser.parse_args()
with open("executions.log", "a") as log:
    log.write(args.out_dir + "\n")
os.makedirs(args.out_dir, exist_ok=True)
values = [x * STEP for x in range(10)]
# three "seeds": the same sequence shifted by a small seed-dependent offset
per_seed = [{"mean_value": sum(values) / len(values) + 0.01 * (s - 1) * (1 + STEP),
             "max_value": max(values)} for s in range(3)]
final_info = {"toy": {"means": {"mean_value": sum(values) / len(values), "max_value": max(values)},
                      "stderrs": {"mean_value": 0.1, "max_value": 0.0}, "per_seed": per_seed}}
with open(os.path.join(args.out_dir, "final_info.json"), "w") as f:
    json.dump(final_info, f)
