"""Regenerate docs/playground.png, the README's picture of the playground.

Starts ``mlplab serve``, opens a configuration by its share URL in Debian's chromium, trains
until the test loss is small, traces one point, and saves the screenshot.

    python scripts/playground_screenshot.py [OUT.png]
"""

import json
import sys
from base64 import urlsafe_b64encode
from pathlib import Path

from playwright.sync_api import sync_playwright

from mlplab.playground.launch import serving

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"dataset": "spiral", "n_points": 500, "noise": 0.3, "features": ["x1", "x2", "sin(x1)", "sin(x2)"],
          "hidden": [8, 6, 4], "activations": ["tanh", "tanh", "tanh"], "optimizer": "adam",
          "learning_rate": 0.03, "batch_size": 10, "seed": 3}


def main(out: Path) -> None:
    with serving(cwd=ROOT) as url:
        code = urlsafe_b64encode(json.dumps(CONFIG).encode()).decode().rstrip("=")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1400, "height": 1060})
            page.goto(f"{url}#c={code}")
            page.wait_for_selector("#n-0-0")
            page.click("#play")
            page.wait_for_function("Number(document.querySelector('#test_loss').textContent) < 0.08",
                                   timeout=120_000)
            page.click("#play")
            page.select_option("#warp_layer", "3")
            page.wait_for_timeout(500)
            x1, x2 = page.evaluate("() => state.frame.points.train[5].slice(0, 2)")
            a, b, c, d = page.evaluate("() => state.frame.domain")
            page.click("#heatmap", position={"x": (x1 - a) / (b - a) * 360, "y": (d - x2) / (d - c) * 360})
            page.wait_for_selector("#trace table")
            page.screenshot(path=str(out), full_page=False)
            browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "playground.png")
