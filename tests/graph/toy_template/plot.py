import glob
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

names, values = [], []
for folder in sorted(glob.glob("run_*")):
    with open(f"{folder}/final_info.json") as f:
        values.append(json.load(f)["toy"]["means"]["mean_value"])
    names.append(folder)
plt.bar(names, values)
plt.savefig("toy.png")
