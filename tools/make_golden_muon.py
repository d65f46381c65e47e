"""Make tests/golden/newton_schulz/newton_schulz.npz with torch (needs torch 2.13).

torch.optim.Muon's Newton–Schulz iteration (``torch.optim._muon._zeropower_via_
newtonschulz``) on 1×D matrices, in bfloat16 as torch runs it on the CPU: random
rows of several lengths and magnitudes (some below ``eps``, a zero row), with
torch's coefficients and with others, 5 and 2 steps. tests/test_torch_rest.py
checks optsim's emulation against these outputs bit for bit, without torch.

Usage: python tools/make_golden_muon.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch.optim._muon import _zeropower_via_newtonschulz

OUT = Path(__file__).resolve().parents[1] / "tests" / "golden" / "newton_schulz"
#: (coefficients, steps, eps)
SETTINGS = [((3.4445, -4.775, 2.0315), 5, 1e-7), ((2.0, -1.5, 0.5), 2, 1e-3)]


def main() -> None:
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(17)
    data: dict[str, np.ndarray] = {}
    meta = {"torch_version": torch.__version__, "settings": SETTINGS, "files": []}
    for d in (1, 2, 3, 10):
        rows = rng.standard_normal((300, d)) * np.exp(rng.uniform(-9, 9, (300, 1)))
        rows[0] = 0.0
        rows[1] *= 1e-9 / np.linalg.norm(rows[1])  # a length below eps
        data[f"input_{d}"] = rows
        for k, (coefs, steps, eps) in enumerate(SETTINGS):
            out = np.stack([_zeropower_via_newtonschulz(torch.tensor(r).reshape(1, d), coefs,
                                                         steps, eps).float().numpy()[0]
                            for r in rows])
            data[f"output_{d}_{k}"] = out
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "newton_schulz.npz", meta=np.array(json.dumps(meta)), **data)
    print(f"{OUT / 'newton_schulz.npz'}: {(OUT / 'newton_schulz.npz').stat().st_size} bytes")


if __name__ == "__main__":
    main()
