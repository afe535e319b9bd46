"""Check a campaign's task in a real Label Studio: import it, press a grade's key in headless Chromium, screenshot.

Needs a Label Studio server on loopback and Chromium, both outside the project::

    python -m venv /tmp/lsvenv && /tmp/lsvenv/bin/pip install "label-studio==1.23.2" "sentry-sdk<3"
    /tmp/lsvenv/bin/label-studio start --internal-host 127.0.0.1 --port 8089 --no-browser \\
        --username team@example.com --password campaign123 &
    apt-get install -y chromium
    python examples/labelstudio_screenshot.py CAMPAIGN_DIR --out docs/campaign_task.png

The script logs in (session cookie), creates a project with the campaign's ``labelstudio-config.xml``, imports the
first round's tasks, opens the labelling stream in headless Chromium (driven over the DevTools protocol, loopback
only), presses the key ``--grade``, takes the screenshot and checks that the grade pressed is the choice selected.
"""

from __future__ import annotations

import argparse
import base64
import http.cookiejar
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any


class Session:
    """Label Studio over HTTP with a logged-in session (its legacy tokens may be disabled)."""

    def __init__(self, url: str, email: str, password: str) -> None:
        self.url = url.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.open(f"{self.url}/user/login/").read()
        form = f"email={email}&password={password}&csrfmiddlewaretoken={self.cookie('csrftoken')}".encode()
        request = urllib.request.Request(f"{self.url}/user/login/", data=form, headers=self._headers("form"))
        self.opener.open(request).read()
        if not self.cookie("sessionid"):
            raise SystemExit("Label Studio login failed; check --email and --password")

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.jar if c.name == name), "") or ""

    def _headers(self, kind: str = "json") -> dict[str, str]:
        mime = "application/json" if kind == "json" else "application/x-www-form-urlencoded"
        return {"Content-Type": mime, "X-CSRFToken": self.cookie("csrftoken"), "Referer": self.url + "/"}

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=self._headers())
        return json.loads(self.opener.open(request).read() or b"null")


class DevTools:
    """A minimal Chrome DevTools protocol client over a WebSocket (RFC 6455, text frames, masked as a client)."""

    def __init__(self, ws_url: str) -> None:
        host_port, path = ws_url.removeprefix("ws://").split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += self.sock.recv(1)
        self.next_id = 0

    def _recv_exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            out += chunk
        return out

    def _frame(self) -> bytes:
        message = b""
        while True:
            head = self._recv_exact(2)
            size = head[1] & 0x7F
            if size == 126:
                size = struct.unpack(">H", self._recv_exact(2))[0]
            elif size == 127:
                size = struct.unpack(">Q", self._recv_exact(8))[0]
            message += self._recv_exact(size)
            if head[0] & 0x80:
                return message

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        payload = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        size = len(payload)
        head = bytes([0x81]) + (
            bytes([0x80 | size])
            if size < 126
            else (
                bytes([0x80 | 126]) + struct.pack(">H", size)
                if size < 65536
                else bytes([0x80 | 127]) + struct.pack(">Q", size)
            )
        )
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        while True:
            reply = json.loads(self._frame())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("campaign", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/campaign_task.png"))
    parser.add_argument("--url", default="http://127.0.0.1:8089")
    parser.add_argument("--email", default="team@example.com")
    parser.add_argument("--password", default="campaign123")
    parser.add_argument("--grade", default="3", help="the key to press; the choice with this value must be selected")
    parser.add_argument("--chromium", default="chromium")
    args = parser.parse_args(argv)
    if not args.url.startswith(("http://127.0.0.1", "http://localhost")):
        raise SystemExit("--url must be a loopback address")
    ls = Session(args.url, args.email, args.password)
    config = (args.campaign / "labelstudio-config.xml").read_text()
    project = ls.api("POST", "/api/projects", {"title": f"campaign {args.campaign.name}", "label_config": config})
    tasks = json.loads((args.campaign / "rounds" / "round-001.labelstudio.json").read_text())
    ls.api("POST", f"/api/projects/{project['id']}/import", tasks[:5])
    profile = tempfile.mkdtemp(prefix="chromium-")
    browser = subprocess.Popen(
        [
            args.chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=9333",
            "--remote-debugging-address=127.0.0.1",
            "--window-size=1280,1500",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(60):
            try:
                pages = json.loads(urllib.request.urlopen("http://127.0.0.1:9333/json").read())
                break
            except OSError:
                time.sleep(0.5)
        page = next(p for p in pages if p.get("type") == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        tools.call("Network.enable")
        for name in ("sessionid", "csrftoken"):
            tools.call("Network.setCookie", name=name, value=ls.cookie(name), domain="127.0.0.1", path="/")
        tools.call("Emulation.setDeviceMetricsOverride", width=1280, height=1500, deviceScaleFactor=1, mobile=False)
        tools.call("Page.navigate", url=f"{args.url}/projects/{project['id']}/data?labeling=1")
        for _ in range(60):  # the labelling interface is a React app: wait for its choices
            time.sleep(1)
            if tools.evaluate("document.querySelectorAll('input[type=radio]').length"):
                break
        time.sleep(2)
        for kind in ("mousePressed", "mouseReleased"):  # focus the page (an empty spot), as a grader's click does
            tools.call("Input.dispatchMouseEvent", type=kind, x=400, y=900, button="left", clickCount=1)
        for kind in ("keyDown", "keyUp"):
            code = ord(args.grade)  # keymaster (Label Studio's hotkeys) reads the key code
            tools.call(
                "Input.dispatchKeyEvent",
                type=kind,
                key=args.grade,
                text=args.grade if kind == "keyDown" else "",
                code=f"Digit{args.grade}",
                windowsVirtualKeyCode=code,
                nativeVirtualKeyCode=code,
            )
        time.sleep(1)
        checked = tools.evaluate(
            "Array.from(document.querySelectorAll('input:checked')).map(e => (e.value && e.value !== 'on') ? e.value"
            " : e.closest('label').textContent.trim().split(' ')[0])"
        )
        shot = tools.call("Page.captureScreenshot", format="png")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(base64.b64decode(shot["data"]))
    finally:
        browser.terminate()
        browser.wait(timeout=30)
    print(
        json.dumps(
            {"project": project["id"], "key_pressed": args.grade, "choices_checked": checked, "out": str(args.out)}
        )
    )
    return 0 if checked == [args.grade] else 1


if __name__ == "__main__":
    sys.exit(main())
