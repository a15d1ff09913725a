#!/usr/bin/env python3
"""Every page's weight on the wire and its width at 390 px, as a phone's Chromium loads it.

Drives headless Chromium through chromedriver's WebDriver API (standard library only), with a
fresh profile and an empty cache, so each page's figure is a first visit: the document and
every stylesheet and script it loads, gzip as the server sends them (`encodedBodySize`).
Signs in as the demo's accounts to reach the citizen's, the official's and the operator's
pages. Usage, against a running demo (`lienthong demo --citizens 2000 --listen 127.0.0.1:8090`):

    bench/page_weight.py http://127.0.0.1:8090 \\
        --citizen ID:PASSWORD --official ID:PASSWORD --helper ID:PASSWORD

Prints one line per page: bytes on the wire, whether it loads htmx, the page's scroll width
(it should be at most 390) and the path.
"""

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

WIDTH = 390

ANONYMOUS = ["/", "/reference", "/reference?at=2024-06-01", "/login", "/register", "/recover",
             "/no-such-page"]
CITIZEN = ["/account", "/account/totp", "/account/data-tracker"]
PURPOSE = "purpose=Ki%E1%BB%83m+tra+h%E1%BB%93+s%C6%A1"
# {id} is the signed-in person's own ID number.
OFFICIAL = ["/registry", f"/registry?name=Nguy%E1%BB%85n&{PURPOSE}",
            f"/registry/citizens/{{id}}?{PURPOSE}", "/registry/births", "/exchange", "/account"]
HELPER = ["/account", "/assist"]

MEASURE = """
const entries = [performance.getEntriesByType('navigation')[0],
                 ...performance.getEntriesByType('resource')];
return {
  bytes: entries.reduce((sum, e) => sum + (e.encodedBodySize || 0), 0),
  htmx: entries.some(e => e.name.endsWith('/static/htmx.min.js')),
  width: document.documentElement.scrollWidth,
};
"""


def call(driver, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(driver + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)["value"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Chromium:
    def __init__(self, driver):
        self.driver = driver
        self.profile = tempfile.mkdtemp()
        options = {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                     f"--user-data-dir={self.profile}"],
            "mobileEmulation": {"deviceMetrics": {"width": WIDTH, "height": 844,
                                                  "pixelRatio": 3}},
        }
        session = call(driver, "POST", "/session",
                       {"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}})
        self.session = f"/session/{session['sessionId']}"

    def go(self, url):
        call(self.driver, "POST", self.session + "/url", {"url": url})

    def run(self, script):
        return call(self.driver, "POST", self.session + "/execute/sync",
                    {"script": script, "args": []})

    def sign_in(self, base, login):
        personal_id, password = login.split(":", 1)
        self.go(base + "/login")
        self.run(f"""
          document.getElementById('personal_id').value = {json.dumps(personal_id)};
          document.getElementById('password').value = {json.dumps(password)};
          document.querySelector("form[action='/login'] button[type=submit]").click();
        """)
        time.sleep(1.0)

    def close(self):
        call(self.driver, "DELETE", self.session)
        shutil.rmtree(self.profile, ignore_errors=True)


def measure(driver, base, login, paths):
    browser = Chromium(driver)
    try:
        if login:
            browser.sign_in(base, login)
        for path in paths:
            # A first visit each time: nothing from the cache.
            browser.run("return 0")
            call(driver, "POST", browser.session + "/goog/cdp/execute",
                 {"cmd": "Network.clearBrowserCache", "params": {}})
            browser.go(base + path.replace("{id}", login.split(":")[0] if login else ""))
            seen = browser.run(MEASURE)
            wide = "" if seen["width"] <= WIDTH else "  <- scrolls sideways"
            print(f"{seen['bytes']:>7} B  htmx={'yes' if seen['htmx'] else 'no ':3}  "
                  f"width={seen['width']:>5}  {path}{wide}")
    finally:
        browser.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base")
    parser.add_argument("--citizen")
    parser.add_argument("--official")
    parser.add_argument("--helper")
    args = parser.parse_args()
    port = free_port()
    driver_process = subprocess.Popen(["/usr/bin/chromedriver", f"--port={port}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if call(driver, "GET", "/status")["ready"]:
                    break
            except OSError:
                time.sleep(0.1)
        for who, login, paths in [("anonymous", None, ANONYMOUS),
                                  ("citizen", args.citizen, CITIZEN),
                                  ("official and operator", args.official, OFFICIAL),
                                  ("helper", args.helper, HELPER)]:
            if who != "anonymous" and not login:
                continue
            print(f"# {who}")
            measure(driver, args.base, login, paths)
    finally:
        driver_process.terminate()
        driver_process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
