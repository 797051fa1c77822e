# A minimal template in The AI Scientist's folder contract: no template.toml.
import argparse
import json
import os

parser = argparse.ArgumentParser()
parser.add_argument("--out_dir", type=str, default="run_0")
args = parser.parse_args()
os.makedirs(args.out_dir, exist_ok=True)
values = [x * 0.5 for x in range(10)]
final_info = {"toy": {"means": {"mean_value": sum(values) / len(values), "max_value": max(values)},
                      "stderrs": {"mean_value": 0.1, "max_value": 0.0}}}
with open(os.path.join(args.out_dir, "final_info.json"), "w") as f:
    json.dump(final_info, f)
