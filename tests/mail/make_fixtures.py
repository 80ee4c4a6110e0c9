#!/usr/bin/env python3
"""Writes the mail fixtures of crates/cli/tests/mail.rs (fictional people, places and domains).

Run from this folder: python3 make_fixtures.py. The .eml files are committed; this script
documents how their charsets were produced (ISO-2022-JP, Shift_JIS, RFC 2047 words).
"""
import base64
import quopri

CRLF = "\r\n"


def word(text, charset):
    enc = text.encode(charset)
    return "=?%s?B?%s?=" % (charset.upper().replace("_", "-") if charset != "shift_jis" else "Shift_JIS",
                            base64.b64encode(enc).decode())


def b64(data):
    s = base64.b64encode(data).decode()
    return CRLF.join(s[i:i + 76] for i in range(0, len(s), 76))


def write(name, headers, body):
    raw = CRLF.join(headers).encode("ascii") + (CRLF * 2).encode() + body
    with open(name, "wb") as f:
        f.write(raw)


DATE = "Date: Tue, 01 Dec 2026 09:30:00 +0900"

# 1. UTF-8, base64 body, RFC 2047 subject.
write("utf8.eml", [
    "From: =?UTF-8?B?%s?= <kimura@kita-houkan.example.jp>" % base64.b64encode("北ほうかん 木村".encode()).decode(),
    "To: desk@clinic.example.jp",
    "Subject: " + word("訪問診療のご相談（試験太郎様）", "utf-8"),
    DATE,
    "Message-ID: <utf8-0001@kita-houkan.example.jp>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=UTF-8",
    "Content-Transfer-Encoding: base64",
], b64("いつもお世話になっております。\n試験太郎様（架空）の訪問診療について、来週ご相談させてください。\n北ほうかんステーション 木村\n".encode()).encode())

# 2. ISO-2022-JP (7bit), the classic Japanese mail.
write("iso2022jp.eml", [
    "From: " + word("南ケアプラン 佐々木", "iso-2022-jp") + " <sasaki@minami-care.example.jp>",
    "To: desk@clinic.example.jp",
    "Subject: " + word("退院前カンファレンスの日程について", "iso-2022-jp"),
    DATE,
    "Message-ID: <jis-0002@minami-care.example.jp>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=ISO-2022-JP",
    "Content-Transfer-Encoding: 7bit",
], "架空病院から退院予定の見本花子様について、カンファレンスは１２月３日１４時でいかがでしょうか。\r\n".encode("iso-2022-jp"))

# 3. Shift_JIS, base64.
write("sjis.eml", [
    "From: " + word("東薬局 山本", "shift_jis") + " <yamamoto@higashi-yakkyoku.example.jp>",
    "To: desk@clinic.example.jp",
    "Subject: " + word("お薬の配達時間の変更", "shift_jis"),
    DATE,
    "Message-ID: <sjis-0003@higashi-yakkyoku.example.jp>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=Shift_JIS",
    "Content-Transfer-Encoding: base64",
], b64("明日の配達は午後になります。ご確認ください。東薬局（架空）\n".encode("shift_jis")).encode())

# 4. HTML only, with a script, a style, entities and line breaks.
html = ("<html><head><title>t</title><style>p { color: red }</style>"
        "<script>document.write('x')</script></head><body>"
        "<p>空床のお知らせ&amp;ご案内</p><div>3階病棟&nbsp;2床<br>受け入れ &lt;可&gt;</div>"
        "<!-- tracking --><img src=\"https://tracker.example/p.gif\"></body></html>")
write("html_only.eml", [
    "From: renkei@nishi-hospital.example.jp",
    "To: desk@clinic.example.jp",
    "Subject: " + word("空床情報", "utf-8"),
    DATE,
    "Message-ID: <html-0004@nishi-hospital.example.jp>",
    "MIME-Version: 1.0",
    "Content-Type: text/html; charset=UTF-8",
    "Content-Transfer-Encoding: quoted-printable",
], quopri.encodestring(html.encode("utf-8")).replace(b"\n", b"\r\n"))

# 5. Text + a PDF referral letter + an attachment the desk refuses.
pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
parts = [
    "--BOUNDARY",
    "Content-Type: text/plain; charset=UTF-8",
    "Content-Transfer-Encoding: base64",
    "",
    b64("診療情報提供書を添付します。架空一郎様の件です。\n".encode()),
    "--BOUNDARY",
    "Content-Type: application/pdf; name=\"referral.pdf\"",
    "Content-Disposition: attachment; filename=\"referral.pdf\"",
    "Content-Transfer-Encoding: base64",
    "",
    b64(pdf),
    "--BOUNDARY",
    "Content-Type: application/octet-stream; name=\"setup.exe\"",
    "Content-Disposition: attachment; filename=\"setup.exe\"",
    "Content-Transfer-Encoding: base64",
    "",
    b64(b"MZ\x90\x00not a document"),
    "--BOUNDARY--",
    "",
]
write("pdf_attachment.eml", [
    "From: chiiki@nishi-hospital.example.jp",
    "To: desk@clinic.example.jp",
    "Subject: " + word("診療情報提供書の送付", "utf-8"),
    DATE,
    "Message-ID: <pdf-0005@nishi-hospital.example.jp>",
    "MIME-Version: 1.0",
    "Content-Type: multipart/mixed; boundary=\"BOUNDARY\"",
], CRLF.join(parts).encode())


# 6. MCS notices (modelled on a notice; fictional group and link).
def mcs(name, mid, group, path, sender="notice@medical-care.net", display="メディカルケアステーション"):
    body = ("%sのグループに新しい投稿があります。\n\n"
            "下記URLからログインして内容をご確認ください。\n"
            "https://www.medical-care.net/html/%s\n\n"
            "※このメールは送信専用です。\n" % (group, path))
    write(name, [
        "From: " + word(display, "utf-8") + " <%s>" % sender,
        "To: desk@clinic.example.jp",
        "Subject: " + word("【MCS】%sのグループに新しい投稿があります" % group, "utf-8"),
        DATE,
        "Message-ID: <%s>" % mid,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: base64",
    ], b64(body.encode()).encode())


mcs("mcs_notice.eml", "mcs-0006@medical-care.net", "試験次郎さん", "timeline/group/10001")
mcs("mcs_notice_again.eml", "mcs-0007@medical-care.net", "試験次郎さん", "timeline/group/10001")
mcs("mcs_notice_other.eml", "mcs-0008@medical-care.net", "見本三郎さん", "timeline/group/10002")
# 7. Forged: the display name says MCS, the address is not an MCS sender.
mcs("mcs_forged.eml", "forged-0009@medical-care.net.example.com", "試験次郎さん", "timeline/group/10001",
    sender="notice@medical-care.net.example.com", display="MCS メディカルケアステーション")
mcs("mcs_notice_third.eml", "mcs-0010@medical-care.net", "試験次郎さん", "timeline/group/10001")
