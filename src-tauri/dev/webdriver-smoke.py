# Smoke check of the real app in a real webview through tauri-driver (no Selenium: plain urllib).
# Checks: rows render, a subject with HTML shows literally, the synthetic HTML5 drop path imports a
# PDF (new consultation, selected, ok toast) and refuses a text file (error toast with its code).
#
#   seed a store (cargo run -p renkei-desk --example seed), then, under xvfb-run + dbus-run-session:
#   tauri-driver --port 4444 &  python3 src-tauri/dev/webdriver-smoke.py target/debug/renkei-desk
#
# The proper end-to-end suite belongs in tests/; this is the UI owner's quick check.
import json, urllib.request, time, sys, base64
import os
BASE = "http://127.0.0.1:" + os.environ.get("WEBDRIVER_PORT", "4444")
def req(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(BASE + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(r, timeout=60) as resp:
        return json.loads(resp.read() or b"{}")
caps = {"capabilities": {"alwaysMatch": {"browserName": "wry", "tauri:options": {"application": sys.argv[1]}}}}
for i in range(20):
    try:
        s = req("POST", "/session", caps); break
    except Exception as e:
        time.sleep(0.5)
sid = s["value"]["sessionId"]
def js(script, *args):
    return req("POST", f"/session/{sid}/execute/sync", {"script": script, "args": list(args)})["value"]
def js_async(script, *args):
    return req("POST", f"/session/{sid}/execute/async", {"script": script, "args": list(args)})["value"]
try:
    for _ in range(40):
        n = js("return document.querySelectorAll('.queue-row').length")
        if n: break
        time.sleep(0.25)
    print("rows", n)
    js("localStorage.setItem('renkei.staff','E2E'); localStorage.setItem('renkei.lang','ja'); location.reload(); return 1")
    time.sleep(2)
    for _ in range(40):
        if js("return document.querySelectorAll('.queue-row').length"): break
        time.sleep(0.25)
    print("me:", js("return document.getElementById('me').textContent"))
    print("xss subject literal:", js("return [...document.querySelectorAll('.subject__text')].map(e=>e.textContent).filter(t=>t.includes('<img'))"),
          "img elements in queue:", js("return document.querySelectorAll('#queue img').length"))
    print("urgencies:", js("return [...document.querySelectorAll('.queue-row')].map(e=>e.dataset.urgency).join(',')"))
    drop = """
      const [name, b64, type, done] = arguments;
      const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], name, {type}));
      delete document.body.dataset.lastDrop;
      document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
      const t0 = Date.now();
      (function wait(){ if (document.body.dataset.lastDrop) done(document.body.dataset.lastDrop); else if (Date.now()-t0 > 8000) done('timeout'); else setTimeout(wait, 100); })();
    """
    pdf = base64.b64encode(b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n% e2e " + str(time.time()).encode()).decode()
    print("drop pdf:", js_async(drop, "紹介状_e2e.pdf", pdf, "application/pdf"))
    time.sleep(1)
    print("toasts:", js("return [...document.querySelectorAll('#toast .toast')].map(e=>e.dataset.kind+':'+e.dataset.code+':'+e.textContent)"))
    print("selected row:", js("const r=document.querySelector('.queue-row.is-selected'); return r && [r.dataset.id, r.querySelector('.subject__text').textContent]"))
    print("drop txt:", js_async(drop, "memo.txt", base64.b64encode(b"hello").decode(), "text/plain"))
    time.sleep(0.5)
    print("toasts:", js("return [...document.querySelectorAll('#toast .toast')].map(e=>e.dataset.kind+':'+e.dataset.code+':'+e.textContent)"))
    shot = req("GET", f"/session/{sid}/screenshot")["value"]
    open("/tmp/renkei-webdriver-smoke.png", "wb").write(base64.b64decode(shot))
finally:
    req("DELETE", f"/session/{sid}")
