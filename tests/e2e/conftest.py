"""Fixtures for the end-to-end suite: the real `renkei-desk` in a real WebKitGTK webview,
driven over WebDriver (tauri-driver -> WebKitWebDriver), with data seeded by the real `renkei`.

Every test gets a fresh data dir (RENKEI_DATA_DIR, RENKEI_KEY_FILE), a frozen clock
(RENKEI_NOW) and a fresh webview profile (XDG_DATA_HOME / XDG_CACHE_HOME), so nothing leaks
between tests. The app inherits its environment from tauri-driver, so each app start gets its
own tauri-driver, started in its own process group and ended as a group (the app can survive
tauri-driver's SIGTERM). Run through scripts/e2e.sh (Xvfb + a private D-Bus session).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.common.proxy import Proxy, ProxyType
from selenium.webdriver.remote.client_config import ClientConfig
from selenium.webdriver.remote.remote_connection import RemoteConnection

REPO = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
APP = Path(os.environ.get("RENKEI_E2E_APP", TARGET / "debug" / "renkei-desk"))
CLI = Path(os.environ.get("RENKEI_E2E_CLI", TARGET / "debug" / "renkei"))
TAURI_DRIVER = os.environ.get("TAURI_DRIVER", "tauri-driver")
SHOTS = Path(os.environ.get("RENKEI_E2E_SCREENSHOTS", TARGET / "e2e-screenshots"))

NOW = "2026-12-01T10:00:00+09:00"  # a Tuesday, in clinic hours
TITLE = "Renkei Desk — 連携デスク"
STAFF = "田村"


# ----- small helpers ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(fn, timeout=10.0, interval=0.05, what="condition", soft=False):
    """Polls fn() until it returns something truthy; returns it. On timeout fails the test
    (or, with soft=True, returns None)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except WebDriverException as e:  # element went stale during a re-render, etc.
            last_exc = e
        if time.monotonic() > deadline:
            if soft:
                return None
            pytest.fail(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_exc})" if last_exc else ""))
        time.sleep(interval)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def end_group(proc: subprocess.Popen, grace=3.0):
    """SIGTERM the whole process group (tauri-driver, WebKitWebDriver, the app, WebKit
    helpers), then SIGKILL whatever is left. Waits until the group is gone."""
    pgid = proc.pid
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if not group_alive(pgid):
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + wait
        while group_alive(pgid) and time.monotonic() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.05)
            time.sleep(0.05)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=1)


# ----- the store and the CLI ----------------------------------------------------------------


class Store:
    """One data dir plus the environment the app and the CLI share."""

    def __init__(self, root: Path, now: str | None = NOW):
        self.root = root
        self.dir = root / "data"
        self.env = dict(os.environ)
        self.env.update(
            RENKEI_DATA_DIR=str(self.dir),
            RENKEI_KEY_FILE=str(root / "key"),
            RENKEI_DESK_EXIT_ON_CLOSE="1",
            RUST_LOG=os.environ.get("RUST_LOG", "warn"),
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            self.env.pop(k, None)
        if now:
            self.env["RENKEI_NOW"] = now
        else:
            self.env.pop("RENKEI_NOW", None)

    def cli(self, *args, json_out=False, check=True, timeout=60):
        p = subprocess.run([str(CLI), *map(str, args)], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"renkei {' '.join(map(str, args))} exited {p.returncode}: {p.stderr.strip()}")
        return json.loads(p.stdout) if json_out else p

    def demo(self):
        self.cli("demo")
        return self

    def queue_ids(self, *extra):
        return [r["id"] for r in self.cli("queue", "--json", *extra, json_out=True)]

    def show(self, cid):
        return self.cli("show", cid, "--json", json_out=True)

    def partner(self, name="E2E テスト病院", kind="hospital"):
        return self.cli("partner", "add", "--name", name, "--kind", kind, "--json", json_out=True)


class Intake:
    """`renkei serve --listen 127.0.0.1:0` on the store's data dir."""

    def __init__(self, store: Store, listen: str = "127.0.0.1:0"):
        self.proc = subprocess.Popen(
            [str(CLI), "serve", "--listen", listen],
            env=store.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (http://\S+)", line)
        if not m:
            self.stop()
            raise AssertionError(f"renkei serve did not start: {line!r} {self.proc.stderr.read()[:500]}")
        self.url = m.group(1).rstrip("/")

    def post(self, api_key, body: dict, path="/v1/consultations"):
        req = urllib.request.Request(
            self.url + path, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def stop(self):
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# ----- the app ------------------------------------------------------------------------------


class Desk:
    """One running app: tauri-driver (own process group) + a WebDriver session."""

    def __init__(self, store: Store, profile: Path, staff: str | None = STAFF, log: Path | None = None):
        self.store = store
        env = dict(store.env)
        env["XDG_DATA_HOME"] = str(profile / "data")
        env["XDG_CACHE_HOME"] = str(profile / "cache")
        # The PC's own settings (window size and position, start with the PC) per profile too.
        env["XDG_CONFIG_HOME"] = str(profile / "config")
        env["HOME"] = str(profile / "home")
        (profile / "home").mkdir(parents=True, exist_ok=True)
        port, native = free_port(), free_port()
        self.log = log or (store.root / "tauri-driver.log")
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [TAURI_DRIVER, "--port", str(port), "--native-port", str(native)],
            env=env, stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.driver = None
        try:
            self.driver = self._session(f"http://127.0.0.1:{port}")
            self.driver.implicitly_wait(0)
            self.ready(staff)
        except BaseException:
            self.stop()
            raise

    def _session(self, url):
        opts = ArgOptions()
        opts.set_capability("browserName", "wry")
        opts.set_capability("tauri:options", {"application": str(APP)})
        last = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"tauri-driver exited {self.proc.returncode}; see {self.log}")
            try:
                # keep_alive=False: tauri-driver sometimes reuses a connection WebKitWebDriver has
                # already closed (connection reset); a fresh connection per command avoids it.
                cfg = ClientConfig(remote_server_addr=url, keep_alive=False, timeout=60,
                                   proxy=Proxy(raw={"proxyType": ProxyType.DIRECT}))
                return webdriver.Remote(command_executor=RemoteConnection(client_config=cfg), options=opts)
            except Exception as e:  # driver not listening yet, connection reset, ...
                last = e
                time.sleep(0.2)
        raise AssertionError(f"no WebDriver session within 30 s: {last}")

    def app_pid(self) -> int:
        """The pid of the running app (in tauri-driver's process group)."""
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{d}/stat").read_text()
                pgid = int(stat.rsplit(")", 1)[1].split()[2])
                if pgid == self.proc.pid and os.path.basename(os.readlink(f"/proc/{d}/exe")) == APP.name:
                    return int(d)
        raise AssertionError("the app's process was not found")

    # -- page helpers --

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def q(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def one(self, css, timeout=10.0):
        return wait_until(lambda: (self.q(css) or [None])[0], timeout, what=css)

    def rows(self):
        """[(id, urgency, status, owner, subject)] of the queue as rendered."""
        return self.js(
            """return [...document.querySelectorAll('#queue .queue-row')].map(r => [
                 Number(r.dataset.id), r.dataset.urgency, r.dataset.status,
                 (r.querySelector('.owner:not(.is-none)') || {}).textContent || null,
                 (r.querySelector('.subject__text') || {}).textContent || '']);""")

    def row_ids(self):
        return [r[0] for r in self.rows()]

    def fresh(self, css, fn, timeout=5.0):
        """fn(element) on a freshly found element, again if the queue re-rendered under it
        (every reload replaces the rows, so a held element can go stale at any time)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return fn(self.one(css, timeout))
            except StaleElementReferenceException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def click(self, css):
        """Clicks like a user who first scrolls the element into sight (WebKitWebDriver does not
        scroll inside the queue's own scroll container: a row below the fold is "not
        interactable" on a 768 px screen)."""
        def scrolled_click(e):
            self.js("arguments[0].scrollIntoView({block: 'center'})", e)
            e.click()
        self.fresh(css, scrolled_click)

    def attr(self, css, name):
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;", css, name)

    def visible_text(self, css):
        return self.fresh(css, lambda e: e.text)

    def text(self, css):
        """textContent of the first match (WebDriver's visible-text algorithm returns '' for
        some styled grid cells in WebKitGTK), or None."""
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", css)

    def selected_id(self):
        return self.js("const r = document.querySelector('#queue .queue-row.is-selected'); return r ? Number(r.dataset.id) : null;")

    def fatal(self):
        return self.js("const f = document.getElementById('fatal'); return f ? f.textContent : null;")

    def toasts(self):
        return self.js("return [...document.querySelectorAll('#toast .toast')].map(t => ({kind: t.dataset.kind, code: t.dataset.code || null, text: t.textContent}));")

    def ready(self, staff):
        """Waits for the page, answers "who am I" when asked, waits for the queue — or for the
        lock screen, when some staff profile has a PIN (then signing in is the test's job)."""
        wait_until(lambda: self.js("return document.readyState === 'complete' && !!document.getElementById('view')"), 30, what="page load")
        # The queue view mounts before its first load finishes, and an unopenable store only
        # shows #fatal when that load fails: wait for the load's outcome, not the mount.
        wait_until(
            lambda: self.q("#queue .queue-row") or self.q("#queue-empty") or self.q("#fatal") or self.q("#lock-staff button"),
            15,
            what="the first queue load (rows, empty state or #fatal) or the lock screen",
        )
        if self.fatal() is not None or staff is None or self.locked():
            return
        # The dialog opens after the first queue load when no name is stored.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if self.js("const o = document.getElementById('overlay'); return !!(o && !o.hidden && document.getElementById('whoami-input'));"):
                inp = self.one("#whoami-input")
                inp.clear()
                inp.send_keys(staff)
                self.one("#whoami-ok").click()
                wait_until(lambda: self.js("return document.getElementById('overlay').hidden"), 5, what="who-am-I dialog closed")
                break
            if self.js("return localStorage.getItem('renkei.staff')") == staff:
                break
            time.sleep(0.05)
        wait_until(lambda: staff in (self.one("#me").text or ""), 5, what=f"#me shows {staff}")

    def locked(self):
        """Whether the lock screen is shown."""
        return self.js("const l = document.getElementById('lock'); return !!(l && !l.hidden);")

    def lock_names(self):
        """Names offered on the lock screen."""
        return self.js("return [...document.querySelectorAll('#lock-staff button[data-name]')].map(b => b.dataset.name);")

    def sign_in(self, name, pin):
        """Chooses `name` on the lock screen, enters `pin`, waits until the app is unlocked."""
        self.click(f'#lock-staff button[data-name="{name}"]')
        pin_input = self.one("#lock-pin")
        pin_input.clear()
        pin_input.send_keys(pin)
        self.click("#lock-ok")
        wait_until(lambda: not self.locked() and name in (self.text("#me") or ""), 10, what=f"signed in as {name}")

    def screenshot(self, name):
        """WebDriver's screenshot of the page (~1.7 s). `import -window root` is faster but
        under Xvfb it showed blank or stale frames (the queue while the page showed a
        consultation), so it is not used."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            # Let WebKit paint the current DOM first (two animation frames), else the shot can
            # show an older frame on a loaded machine.
            self.driver.set_script_timeout(3)
            self.driver.execute_async_script(
                "const done = arguments[0]; setTimeout(done, 1500);"
                "requestAnimationFrame(() => requestAnimationFrame(() => done()));")
        with contextlib.suppress(Exception):
            self.driver.save_screenshot(str(SHOTS / f"{name}.png"))

    def stop(self):
        if self.driver is not None:
            with contextlib.suppress(Exception):
                self.driver.quit()
            self.driver = None
        end_group(self.proc)
        self.logf.close()


# ----- pytest fixtures ----------------------------------------------------------------------


def pytest_sessionstart(session):
    for p, what in ((APP, "the app"), (CLI, "the CLI")):
        if not p.exists():
            raise pytest.UsageError(f"{what} is not built: {p} (run scripts/e2e.sh, or cargo build -p renkei-desk -p renkei-cli)")


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path)


@pytest.fixture
def demo_store(store):
    return store.demo()


@pytest.fixture
def launch(request, tmp_path):
    """launch(store, staff=STAFF, profile="p1") -> Desk. Every app started is stopped at the
    end of the test; the last one leaves a screenshot named after the test."""
    started: list[Desk] = []

    def _launch(store: Store, staff=STAFF, profile="p1"):
        d = Desk(store, tmp_path / "webview" / profile, staff, log=tmp_path / "tauri-driver.log")
        started.append(d)
        return d

    yield _launch
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    for i, d in enumerate(started):
        if d.driver is not None and i == len(started) - 1:
            d.screenshot(name)
        d.stop()


@pytest.fixture
def intake(store):
    servers = []

    def _start():
        s = Intake(store)
        servers.append(s)
        return s

    yield _start
    for s in servers:
        s.stop()


def consultation(subject, body="E2E の本文です。", urgency="normal", category="other", **extra):
    return {
        "external_id": extra.pop("external_id", f"e2e-{time.monotonic_ns()}"),
        "category": category, "urgency": urgency, "subject": subject, "body": body,
        "sender": {"name": "E2E 送信者", "role": "MSW"}, **extra,
    }


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
