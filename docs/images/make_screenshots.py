"""Make the screenshots of docs/annotate.md: the rating page and the pairwise page of `bench annotate serve`.

    .venv/bin/python docs/images/make_screenshots.py

Runs lead-3 and textrank on the bundled seed-summarization task in a temporary directory, makes a ratings study
and a pairwise study of them, serves each on 127.0.0.1 and photographs its first page in Debian's headless
Chromium (apt-get install -y chromium chromium-driver), one answer given with the keyboard.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains

HERE = Path(__file__).resolve().parent
BENCH = [sys.executable, "-m", "bench"]


def bench(*args: str, cwd: Path) -> None:
    subprocess.run([*BENCH, *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def shoot(study: str, keys: str, out: Path, cwd: Path) -> None:
    server = subprocess.Popen([*BENCH, "annotate", "serve", study, "--port", "0"], cwd=cwd, stdout=subprocess.PIPE,
                              text=True)
    try:
        link = None
        while link is None:
            line = server.stdout.readline()
            if not line:
                raise SystemExit("the server stopped")
            found = re.search(r"(http://\S+)", line)
            link = found.group(1) if found and "/a/" in line else None
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tempfile.mkdtemp()}", "--window-size=1400,1000", "--hide-scrollbars"):
            options.add_argument(arg)
        driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
        try:
            driver.get(link)
            ActionChains(driver).send_keys(keys).perform()
            time.sleep(0.3)
            driver.save_screenshot(str(out))
        finally:
            driver.quit()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"wrote {out}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        bench("run", "-q", "-m", "lead-3", "-m", "textrank", "-t", "seed-summarization", cwd=cwd)
        bench("annotate", "new", "rating", "results", "-t", "seed-summarization", "--criterion", "coherence",
              "--criterion", "consistency", "-a", "ana", "-a", "ben", cwd=cwd)
        bench("annotate", "new", "duel", "results", "-t", "seed-summarization", "--pairwise", "--criterion",
              "relevance", "--criterion", "coherence", "-a", "ana", cwd=cwd)
        shoot("rating", "4", HERE / "annotate-rating.png", cwd)
        shoot("duel", "a", HERE / "annotate-pairwise.png", cwd)


if __name__ == "__main__":
    main()
