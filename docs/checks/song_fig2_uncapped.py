"""Song Figure 2 spot check: the quick units of one network at p = 3200, λ > 0, with the
code's stopping rule (each repetition stops on its own), no cap (README, Results).

    .venv/bin/python docs/checks/song_fig2_uncapped.py linear 200000
"""
import json
import sys
import time

import numpy as np

from minifa.experiments import song_fig2
from minifa.experiments.framework import Unit
from minifa.experiments.runner import experiment_config

config = experiment_config(song_fig2, "quick", {"device": "cpu"})
config["max_steps"] = int(sys.argv[2])
net = sys.argv[1]
for lam in config["networks"][net][1][1:]:
    t = time.time()
    out = song_fig2.run_unit(config, Unit(f"{net}_lambda{lam:g}_p3200", {"network": net, "lambda": lam, "width": 3200}))
    print(json.dumps({"net": net, "lambda": lam, "alignment": out["alignment"].round(3).tolist(), "steps": out["steps"].tolist(),
                      "final_loss": float(np.nanmean(out["loss"][-1])), "seconds": round(time.time() - t)}), flush=True)
