"""The README's table "the lecture's equations in the code": each equation, the line of code that
computes it, and where that line is.

    python scripts/lecture_table.py           # print the table (Markdown)
    python scripts/lecture_table.py --check   # exit 1 if README.md's table differs from it
    python scripts/lecture_table.py --write   # put it between README.md's markers

tests/test_readme.py runs the check, so a line that moves or changes without the README is a
failing test.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (the lecture's equation, a file under mlplab/, the code on that line: a unique substring)
ROWS = [
    ("z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾", "core/layers/dense.py", "self.Z = A_prev @ self.W.T + self.b"),
    ("a⁽ˡ⁾ = g(z⁽ˡ⁾)", "core/layers/dense.py", "self.A = self.g(self.Z)"),
    ("σ(z) = 1 / (1 + e⁻ᶻ)", "core/activations.py", "return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))"),
    ("σ'(z) = σ(z)(1 − σ(z))", "core/activations.py", "return s * (1 - s)"),
    ("C = ½‖a⁽ᴸ⁾ − y‖², mean over the batch", "core/losses.py",
     "return 0.5 * namespace(a).sum(diff * diff) / a.shape[0]"),
    ("δ⁽ᴸ⁾ = (a⁽ᴸ⁾ − y) ⊙ g'(z⁽ᴸ⁾)", "core/losses.py", "return (a - y) * g.g_prime(z)"),
    ("δ⁽ᴸ⁾ = a⁽ᴸ⁾ − y (cross-entropy)", "core/losses.py", "return a - y  # δ⁽ᴸ⁾ = a⁽ᴸ⁾ − y"),
    ("δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ g'(z⁽ˡ⁾)", "core/layers/dense.py",
     "delta = dA * self.g.g_prime(self.Z)"),
    ("(W⁽ˡ⁾)ᵀδ⁽ˡ⁾, passed down", "core/layers/dense.py",
     "return delta @ self.W if need_dA_prev else None"),
    ("∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ", "core/layers/dense.py", "self.dW = delta.T @ self.A_prev / m"),
    ("∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾", "core/layers/dense.py",
     "self.db = namespace(delta).sum(delta, axis=0) / m"),
    ("the δ recursion, l = L … 1", "core/network.py",
     "dA = self.layers[l].backward(dA, need_dA_prev=l > 1)"),
    ("W ← W − α ∂C/∂W (step 5)", "core/optimizers.py", "p -= self.learning_rate * g"),
    ("steps 2–5 for one batch", "core/step.py", "A = net.forward(Xb, training=True)"),
    ("the 7 steps, epoch by epoch", "train/loop.py", "cost = step(Xb, Yb)  # steps 2–5"),
    ("step 6: stop when every change of W, b is below ε", "train/setup.py", "change < self.epsilon:"),
    ("the perceptron rule: w ← w + η t x (t = ±1)", "lab/experiments/_rules.py",
     "return True, w + eta * t * x, b + eta * t   # w ← w + η t x"),
    ("convolution: z⁽ˡ⁾ = W⁽ˡ⁾ ⋆ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾", "core/layers/conv.py",
     "Z = W_col @ self.cols + xp.reshape(self.b, (-1, 1))"),
    ("BPTT: δₜ = (W_hᵀδₜ₊₁ + ∂C/∂hₜ) ⊙ g'(zₜ)", "core/layers/recurrent.py",
     "delta = dh * self.g.g_prime(cache[\"z\"])"),
]
HEADER = ["| the lecture | the code | where |", "|---|---|---|"]
BEGIN, END = "<!-- lecture-table -->", "<!-- /lecture-table -->"


def rows() -> list[str]:
    """The table's rows; a missing file or line is an error naming it."""
    out = []
    for equation, rel, code in ROWS:
        path = ROOT / "mlplab" / rel
        if not path.exists():
            raise SystemExit(f"mlplab/{rel} does not exist: update ROWS in {__file__}")
        lines = path.read_text(encoding="utf-8").splitlines()
        found = [i for i, line in enumerate(lines, start=1) if code in line]
        if not found:
            raise SystemExit(f"mlplab/{rel} has no line with {code!r}: update ROWS")
        if len(found) > 1:
            raise SystemExit(f"{rel}: {code!r} is on lines {found}; make it unique")
        n = found[0]
        shown = lines[n - 1].strip().split("  #")[0].split(" # ")[0].strip()
        out.append(f"| `{equation}` | `{shown}` | [{rel}:{n}](mlplab/{rel}#L{n}) |")
    return out


def table() -> str:
    return "\n".join([BEGIN, *HEADER, *rows(), END])


def main(argv) -> int:
    if "--check" not in argv and "--write" not in argv:
        print(table())
        return 0
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < 0:
        print(f"README.md has no {BEGIN} … {END} block")
        return 1
    if "--write" in argv:
        readme = readme[:start] + table() + readme[end + len(END):]
        (ROOT / "README.md").write_text(readme, encoding="utf-8")
        return 0
    if readme[start:end + len(END)] != table():
        print("README.md's lecture table is out of date: run python scripts/lecture_table.py "
              "--write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
