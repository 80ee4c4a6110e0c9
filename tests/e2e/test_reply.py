"""Issue 20: a reply typed in the app's composer goes back to Chatwork and the thread shows its
delivery state — 送信済み when the (fake) Chatwork accepted it, 送信失敗 with Chatwork's own
message and a 「再送」 button when it refused it, and 送信済み after 再送.

The fake Chatwork API is a small HTTP server in this test (real socket); `renkei serve` on the
same data dir takes the consultations in through the signed webhook and runs the sender.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from conftest import STAFF, wait_until

WEBHOOK_TOKEN = base64.b64encode(b"e2e chatwork webhook token").decode()
API_TOKEN = "e2e-chatwork-api-token"


class FakeChatwork:
    """POST /v2/rooms/{room}/messages: 200 {"message_id"} — or, for the rooms in `refuse`, 400
    with {"errors": [...]}, once."""

    def __init__(self):
        self.received: list[tuple[str, str]] = []
        self.refuse: dict[str, str] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                parts = self.path.split("/")
                room = parts[3] if len(parts) > 4 else ""
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                text = form.get("body", [""])[0]
                if self.headers.get("X-ChatWorkToken") != API_TOKEN:
                    status, body = 401, {"errors": ["Invalid API token"]}
                elif room in fake.refuse:
                    status, body = 400, {"errors": [fake.refuse.pop(room)]}
                else:
                    fake.received.append((room, text))
                    status, body = 200, {"message_id": str(1798000000000000000 + len(fake.received))}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/v2"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def chatwork_message(url: str, room: int, message_id: str, text: str) -> int:
    body = json.dumps({
        "webhook_setting_id": "1", "webhook_event_type": "message_created", "webhook_event_time": 1796089201,
        "webhook_event": {"message_id": message_id, "room_id": room, "account_id": 4242, "body": text,
                          "send_time": 1796089200, "update_time": 0},
    }, ensure_ascii=False).encode()
    sig = base64.b64encode(hmac.new(base64.b64decode(WEBHOOK_TOKEN), body, hashlib.sha256).digest()).decode()
    req = urllib.request.Request(url + "/v1/webhooks/chatwork", data=body, method="POST",
                                 headers={"Content-Type": "application/json", "X-ChatWorkWebhookSignature": sig})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=10) as r:
        return json.loads(r.read())["id"]


def reply_from_composer(desk, cid, text):
    desk.click(f"#queue .queue-row[data-id='{cid}']")
    ActionChains(desk.driver).send_keys(Keys.ENTER).perform()
    desk.one(f"#consultation[data-id='{cid}']")
    wait_until(lambda: desk.attr("#composer-route", "data-delivery") == "outbox", 5, what="the composer's route")
    desk.click("#composer-kind button[data-kind='reply']")
    desk.fresh("#composer-body", lambda e: e.send_keys(text))
    desk.click("#composer-save")


def delivery_of(desk, text):
    """(status, text) of the delivery line under the reply with `text`."""
    return desk.js(
        """const m = [...document.querySelectorAll('#thread .msg--reply')]
             .find((x) => x.querySelector('.msg__body').textContent === arguments[0]);
           const d = m && m.querySelector('.delivery');
           return d ? [d.dataset.status, d.textContent] : null;""", text)


def test_a_reply_from_the_composer_reaches_chatwork_and_shows_its_delivery_state(store, launch, intake):
    fake = FakeChatwork()
    try:
        store.env.update(RENKEI_CHATWORK_WEBHOOK_TOKEN=WEBHOOK_TOKEN, RENKEI_CHATWORK_API_TOKEN=API_TOKEN,
                         RENKEI_CHATWORK_API_BASE=fake.base)
        serve = intake()
        ok_id = chatwork_message(serve.url, 301234567, "1798000000000000101", "退院後の訪問診療のご相談です")
        bad_id = chatwork_message(serve.url, 999, "1798000000000000102", "空床のご相談です")
        fake.refuse["999"] = "Invalid room: the account is not a member"
        desk = launch(store)
        desk.one(f"#queue .queue-row[data-id='{ok_id}']")

        text = "承知しました。本日15時にお電話します。"
        t0 = time.monotonic()
        reply_from_composer(desk, ok_id, text)
        wait_until(lambda: (delivery_of(desk, text) or [""])[0] == "sent", 10, what="送信済み")
        shown = time.monotonic() - t0
        print(f"REPLY SHOWN SENT {shown:.2f}s after clicking 保存")
        status, line = delivery_of(desk, text)
        assert "送信済み" in line and "Chatwork room 301234567" in line
        assert fake.received == [("301234567", f"[rp aid=4242 to=301234567-1798000000000000101]\n{text}")]
        desk.screenshot("reply-sent")

        # refused by Chatwork: 送信失敗 with its words and 再送
        desk.click("#back")
        bad = "確認して折り返します。"
        reply_from_composer(desk, bad_id, bad)
        wait_until(lambda: (delivery_of(desk, bad) or [""])[0] == "failed", 10, what="送信失敗")
        status, line = delivery_of(desk, bad)
        assert "送信失敗" in line and "Invalid room: the account is not a member" in line, line
        desk.screenshot("reply-failed")
        desk.click("#thread .delivery[data-status='failed'] button[data-resend]")
        wait_until(lambda: (delivery_of(desk, bad) or [""])[0] == "sent", 10, what="送信済み after 再送")
        assert fake.received[-1][0] == "999"
        entries = store.cli("outbox", "--json", json_out=True)
        assert sorted(e["status"] for e in entries) == ["sent", "sent"]
        audit = store.cli("audit", "--json", json_out=True)
        assert any(a["action"] == "outbox.resend" and a["actor"] == STAFF for a in audit)
    finally:
        fake.stop()


def test_taking_an_item_sends_the_receipt_switched_on_in_the_partners_view(store, launch, intake):
    """Issue 20, the receipt: 連携先 → 受付メッセージ switched on in the app; taking the
    consultation (対応する) sends 「受け付けました。担当：…」 to the Chatwork room it came from, once,
    and the thread shows it as 自動返信・受付 with 送信済み."""
    fake = FakeChatwork()
    try:
        store.env.update(RENKEI_CHATWORK_WEBHOOK_TOKEN=WEBHOOK_TOKEN, RENKEI_CHATWORK_API_TOKEN=API_TOKEN,
                         RENKEI_CHATWORK_API_BASE=fake.base)
        serve = intake()
        cid = chatwork_message(serve.url, 301234568, "1798000000000000201", "訪問診療のご相談です")
        desk = launch(store)
        desk.one(f"#queue .queue-row[data-id='{cid}']")
        partner = store.cli("show", str(cid), "--json", json_out=True)["partner"]
        pid = next(p["id"] for p in store.cli("partner", "list", "--json", json_out=True) if p["name"] == partner)

        desk.click("#nav-partners")
        box = f"#partners tr[data-id='{pid}'] input.partner-receipt"
        desk.one(box)
        assert not desk.js("return document.querySelector(arguments[0]).checked", box), "off by default"
        desk.click(box)
        wait_until(lambda: next(p for p in store.cli("partner", "list", "--json", json_out=True) if p["id"] == pid)["receipt"],
                   5, what="the switch saved")
        desk.screenshot("partners-receipt")

        desk.click("#nav-queue")
        desk.click(f"#queue .queue-row[data-id='{cid}']")
        ActionChains(desk.driver).send_keys(Keys.ENTER).perform()
        desk.one(f"#consultation[data-id='{cid}']")
        t0 = time.monotonic()
        desk.click("#ack")
        wait_until(lambda: len(fake.received) == 1, 10, what="the receipt at the fake Chatwork")
        print(f"RECEIPT RECEIVED {time.monotonic() - t0:.2f}s after clicking 対応する")
        room, text = fake.received[0]
        assert room == "301234568"
        assert text.startswith("[rp aid=4242 to=301234568-1798000000000000201]\n受け付けました。担当：" + STAFF + "。"), text
        assert text.endswith("までにご連絡します。"), text

        def receipt_line():
            return desk.js(
                """const m = document.querySelector('#thread .msg--receipt');
                   const d = m && m.querySelector('.delivery');
                   return m ? [m.querySelector('.msg__kind').textContent, d ? d.dataset.status : ''] : null;""")
        wait_until(lambda: (receipt_line() or ["", ""])[1] == "sent", 10, what="自動返信・受付 送信済み")
        assert receipt_line()[0] == "自動返信・受付"
        time.sleep(1.5)
        assert len(fake.received) == 1, "sent once"
        assert receipt_line()[1] == "sent"
        desk.screenshot("receipt-sent")
    finally:
        fake.stop()
