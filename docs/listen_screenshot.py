"""Draw docs/listen-mushra.png: the MUSHRA page of `wavegen listen samples/` in headless chromium.

    python docs/listen_screenshot.py        # needs chromium and chromium-driver (apt)

The test is prepared in a scratch folder and served on a free local port; two
stimuli are played and rated as a participant would before the page is captured.
"""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from wavegen import listen
    from wavegen.listen.server import make_app

    with tempfile.TemporaryDirectory() as scratch:
        test = listen.open_test(ROOT / "samples", results=Path(scratch) / "results")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(make_app(test), host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.1)
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for flag in ("--headless=new", "--no-sandbox", "--window-size=1000,700", "--mute-audio"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        try:
            driver.get(f"http://127.0.0.1:{port}/?participant=docs")
            driver.find_element(By.ID, "start").click()
            for _ in range(100):
                keys = [b.get_attribute("data-key") for b in driver.find_elements(By.CSS_SELECTOR, "button.play")]
                if keys:
                    break
                time.sleep(0.1)
            stimuli = [k for k in keys if k != "ref"]
            for key, value in zip(stimuli, (72, 35)):
                driver.find_element(By.ID, f"play-{key}").click()
                driver.find_element(By.ID, f"score-{key}").send_keys(Keys.HOME + Keys.ARROW_UP * value)
            driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
            time.sleep(0.5)
            out = Path(__file__).with_name("listen-mushra.png")
            driver.save_screenshot(str(out))
            print(out)
        finally:
            driver.quit()
            server.should_exit = True
    return 0


if __name__ == "__main__":
    sys.exit(main())
