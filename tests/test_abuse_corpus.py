"""The bad-input corpus: what ballot-stuffing bots, scanners and careless clients send.

Each entry must get a clean answer: a documented 4xx with the JSON error shape (never a 500,
never a stack trace), the database intact, and no vote counted that should not be.
``CORPUS`` counts the entries tried; the last test prints the total.
"""

from __future__ import annotations

import threading
import unicodedata
from collections import Counter
from typing import Any

import pytest
import requests

from tests.helpers import assert_error, poll_body

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

CORPUS: Counter[str] = Counter()

SQLI = [
    "1' OR '1'='1", "1 OR 1=1", "1; DROP TABLE ballots;--", "' UNION SELECT key_hash FROM api_keys--",
    "1)) OR ((1=1", "admin'--", "1' AND SLEEP(5)--", "1'; SELECT pg_sleep(5);--", "%27%20OR%201%3D1",
    '" OR ""="', "1 AND (SELECT COUNT(*) FROM polls)>0", "'||(SELECT version())||'", "\\' OR 1=1 #",
    "1/**/OR/**/1=1", "${jndi:ldap://127.0.0.1/x}", "{{7*7}}",
]
XSS = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=alert(1)>",
    "javascript:alert(1)", "<iframe srcdoc='<script>parent.alert(1)</script>'>", "</script><script>alert(1)//",
    "<a href=\"javascript:alert(document.cookie)\">x</a>", "{{constructor.constructor('alert(1)')()}}",
]
FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1:A9)", "=cmd|' /C calc'!A0",
            "  =1+1"]


def tried(kind: str, n: int = 1) -> None:
    CORPUS[kind] += n


def clean(response: Any, *allowed: int) -> None:
    """A documented answer in the JSON shape, nothing leaked."""
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    if allowed:
        assert response.status_code in allowed, (response.status_code, response.get_data(as_text=True)[:300])
    if response.status_code >= 400:
        assert_error(response, response.status_code, response.json["error"])


def db_intact(client: Any, admin: dict[str, str], polls: int, participants: dict[int, int]) -> None:
    listing = client.get("/api/v1/polls?per_page=100", headers=admin)
    assert listing.status_code == 200 and listing.json["total"] == polls
    for poll_id, expected in participants.items():
        assert client.get(f"/api/v1/polls/{poll_id}/results", headers=admin).json["participants"] == expected


@pytest.fixture(autouse=True)
def _many_key_failures(app_config: dict[str, Any]) -> None:
    """The corpus sends hundreds of bad keys on purpose; the failed-key limit has its own test."""
    app_config["rate_limit_auth_failures"] = "1000000/minute"


@pytest.fixture
def voted_poll(client: Any, make_poll: Any, voter_token: Any) -> dict[str, Any]:
    poll = make_poll()
    response = client.post(f"/api/v1/polls/{poll['id']}/votes", json={"option_ids": [poll["options"][0]["id"]]},
                           headers={"X-Voter-Token": voter_token()})
    assert response.status_code == 201
    return poll


# ---- SQL injection everywhere (CVE-2021-24442 class) ----


def test_sql_injection_in_ids_headers_tokens_and_query(client: Any, admin: dict[str, str], reporter_key: str,
                                                        voted_poll: dict[str, Any]) -> None:
    pid = voted_poll["id"]
    option = voted_poll["options"][1]["id"]
    for payload in SQLI:
        quoted = requests.utils.quote(payload, safe="")
        for path in (f"/api/v1/polls/{quoted}", f"/api/v1/polls/{quoted}/results", f"/api/v1/polls/{quoted}/votes",
                     f"/api/v1/articles/{quoted}/polls", f"/api/v1/polls/{pid}/results/timeseries?interval={quoted}",
                     f"/api/v1/polls?article_id={quoted}", f"/api/v1/polls?status={quoted}",
                     f"/api/v1/polls?page={quoted}", f"/api/v1/polls?per_page={quoted}",
                     f"/api/v1/reports/polls?from={quoted}", f"/api/v1/reports/polls?to={quoted}",
                     f"/api/v1/reports/polls?article_id={quoted}", f"/api/v1/audit?poll_id={quoted}"):
            clean(client.get(path, headers=admin), 404, 405, 422)
            tried("sqli")
        for header in ("X-Voter-Token", "X-Poll-User", "X-Forwarded-For", "X-Real-IP", "X-Request-ID", "Forwarded"):
            clean(client.post(f"/api/v1/polls/{pid}/votes", json={"option_ids": [option]}, headers={header: payload}),
                  400)
            clean(client.get(f"/api/v1/polls/{pid}", headers={header: payload}), 200)
            tried("sqli", 2)
        for auth in (f"Bearer {payload}", payload, f"Bearer psk_{payload}_x", f"Bearer {reporter_key}{payload}"):
            clean(client.get("/api/v1/polls", headers={"Authorization": auth}), 401)
            tried("sqli")
        clean(client.post(f"/api/v1/polls/{pid}/votes", json={"option_ids": [payload]}), 422)
        clean(client.post("/api/v1/views", json={"polls": [payload]}), 422)
        clean(client.post("/api/v1/polls", json=poll_body(article_id=payload), headers=admin), 422)
        clean(client.patch(f"/api/v1/polls/{pid}", json={"dedup": payload}, headers=admin), 422)
        tried("sqli", 4)
    # Stored verbatim where text is free: a question is data, not SQL.
    created = client.post("/api/v1/polls", json=poll_body(question=SQLI[2]), headers=admin)
    assert created.status_code == 201 and created.json["question"] == SQLI[2]
    db_intact(client, admin, 2, {pid: 1})


# ---- script payloads are data ----


@pytest.mark.parametrize("payload", XSS)
def test_script_payloads_are_stored_verbatim_and_served_as_json(client: Any, admin: dict[str, str],
                                                               payload: str) -> None:
    tried("xss")
    body = poll_body(question=payload, description=payload, options=[{"label": payload}, {"label": "ok " + payload}],
                     results_visibility="always")
    created = client.post("/api/v1/polls", json=body, headers=admin)
    assert created.status_code == 201, created.json
    for response in (client.get(f"/api/v1/polls/{created.json['id']}"),
                     client.get(f"/api/v1/articles/{body['article_id']}/polls"),
                     client.get(f"/api/v1/polls/{created.json['id']}/results", headers=admin)):
        assert response.mimetype == "application/json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    poll = client.get(f"/api/v1/polls/{created.json['id']}").json
    assert poll["question"] == payload and poll["description"] == payload
    assert [o["label"] for o in poll["options"]] == [payload, "ok " + payload]


# ---- keys and roles (CVE-2020-11673 class) ----


def _key_operations(client: Any) -> list[tuple[str, str, bool]]:
    """(method, path, admin only) for every operation the OpenAPI document says needs a key."""
    spec = client.get("/openapi.json").json
    operations = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters" or op.get("security") != [{"bearerAuth": []}]:
                continue
            admin_only = method.upper() != "GET" or path.endswith("/audit")
            operations.append((method.upper(), path, admin_only))
    return operations


def test_every_key_route_refuses_no_key_and_reporters_only_read(client: Any, admin: dict[str, str],
                                                                 reporter_key: str, voted_poll: dict[str, Any]) -> None:
    operations = _key_operations(client)
    assert len(operations) >= 9
    reporter = {"Authorization": f"Bearer {reporter_key}"}
    for method, template, admin_only in operations:
        path = template.replace("{poll_id}", str(voted_poll["id"])).replace("{void_id}", "1")
        body = {"question": "hijacked", "status": "closed"} if method == "PATCH" else poll_body()
        for headers in ({}, {"Authorization": ""}, {"Authorization": "Bearer "}, {"X-Api-Key": reporter_key},
                        {"Authorization": f"Token {reporter_key}"}, {"Cookie": f"session={reporter_key}"}):
            assert_error(client.open(path, method=method, json=body, headers=headers), 401, "unauthorized")
            tried("authz")
        response = client.open(path, method=method, json=body, headers=reporter)
        tried("authz")
        if admin_only:
            assert_error(response, 403, "forbidden")
        else:
            assert response.status_code == 200, (method, path, response.status_code)
    after = client.get(f"/api/v1/polls/{voted_poll['id']}", headers=admin).json
    assert after["question"] == voted_poll["question"] and after["status"] == "open"
    db_intact(client, admin, 1, {voted_poll["id"]: 1})


# ---- forged proxy headers (wp-polls #2, #40, #104) ----

SPOOF_HEADERS = ["X-Forwarded-For", "X-Real-IP", "Forwarded", "CF-Connecting-IP", "True-Client-IP", "X-Client-IP",
                 "Client-IP", "X-Cluster-Client-IP", "Fastly-Client-IP", "X-Originating-IP"]


def test_forged_proxy_headers_cannot_buy_extra_ip_votes(client: Any, make_poll: Any) -> None:
    poll = make_poll(dedup="ip")
    url, option = f"/api/v1/polls/{poll['id']}/votes", {"option_ids": [poll["options"][0]["id"]]}
    assert client.post(url, json=option).status_code == 201
    for i, header in enumerate(SPOOF_HEADERS):
        value = f"for=203.0.113.{i}" if header == "Forwarded" else f"203.0.113.{i}, 198.51.100.{i}"
        assert_error(client.post(url, json=option, headers={header: value}), 409, "already_voted")
        tried("proxy")
    assert client.get(f"/api/v1/polls/{poll['id']}").json["participants"] == 1


@pytest.fixture
def behind_one_proxy(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["trusted_proxies"] = 1
    return app_config


def test_behind_one_proxy_only_the_rightmost_forwarded_entry_counts(behind_one_proxy: Any, client: Any,
                                                                    make_poll: Any) -> None:
    poll = make_poll(dedup="ip")
    url, option = f"/api/v1/polls/{poll['id']}/votes", {"option_ids": [poll["options"][0]["id"]]}
    assert client.post(url, json=option, headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 201
    # The bot prepends whatever it likes; the proxy appends the real peer: still the same voter.
    for forged in ("1.1.1.1, 198.51.100.7", "10.0.0.1, 8.8.8.8, 198.51.100.7", "garbage, 198.51.100.7",
                   "198.51.100.8,198.51.100.7", "' OR 1=1--, 198.51.100.7"):
        assert_error(client.post(url, json=option, headers={"X-Forwarded-For": forged, "X-Real-IP": "9.9.9.9"}),
                     409, "already_voted")
        tried("proxy")
    # Another real client (a different right-most entry) is a different voter.
    assert client.post(url, json=option, headers={"X-Forwarded-For": "198.51.100.7, 198.51.100.9"}).status_code == 201
    # IPv6 clients are one voter per /64, however they rotate the low bits.
    assert client.post(url, json=option, headers={"X-Forwarded-For": "2001:db8:1:2::1"}).status_code == 201
    assert_error(client.post(url, json=option, headers={"X-Forwarded-For": "2001:db8:1:2:ffff::99"}),
                 409, "already_voted")
    tried("proxy", 3)
    assert client.get(f"/api/v1/polls/{poll['id']}").json["participants"] == 3


# ---- answer limits enforced by the server (WP-Polls < 3.0) ----


def test_answer_limits_cannot_be_bypassed_by_direct_requests(client: Any, make_poll: Any, voter_token: Any) -> None:
    single = make_poll()
    double = make_poll(max_choices=2, options=[{"label": "A"}, {"label": "B"}, {"label": "C"}])
    ids = [o["id"] for o in single["options"]]
    foreign = double["options"][0]["id"]
    cases: list[tuple[Any, int, str]] = [
        ([ids[0], ids[1]], 422, "invalid_selection"), ([ids[0], ids[0]], 422, "invalid_selection"),
        ([], 422, "invalid_selection"), ([foreign], 422, "invalid_selection"), ([ids[0], foreign], 422,
                                                                               "invalid_selection"),
        ([0], 422, "invalid_selection"), ([-ids[0]], 422, "invalid_selection"), ([2**63], 422, "invalid_selection"),
        ([2**200], 422, "invalid_selection"), (ids, 422, "invalid_selection"), ([True], 422, "validation_error"),
        ([str(ids[0])], 422, "validation_error"), ([float(ids[0])], 422, "validation_error"),
        ([ids[0] + 0.5], 422, "validation_error"), ([None], 422, "validation_error"),
        ([[ids[0]]], 422, "validation_error"), ([{"id": ids[0]}], 422, "validation_error"),
        (ids[0], 422, "validation_error"), (None, 422, "validation_error"), ({"0": ids[0]}, 422, "validation_error"),
        ([ids[0]] * 5000, 422, "invalid_selection"),
    ]
    for option_ids, status, code in cases:
        response = client.post(f"/api/v1/polls/{single['id']}/votes", json={"option_ids": option_ids},
                               headers={"X-Voter-Token": voter_token()})
        assert_error(response, status, code)
        tried("answer_limits")
    three = [o["id"] for o in double["options"]]
    assert_error(client.post(f"/api/v1/polls/{double['id']}/votes", json={"option_ids": three},
                             headers={"X-Voter-Token": voter_token()}), 422, "invalid_selection")
    tried("answer_limits")
    for poll in (single, double):
        assert client.get(f"/api/v1/polls/{poll['id']}").json["participants"] == 0


# ---- votes racing a poll being closed (OpenSlides #6006) ----


def test_votes_racing_a_close_are_counted_or_refused_never_lost(serve: Any, server_admin_key: Any) -> None:
    server = serve()
    headers = {"Authorization": f"Bearer {server_admin_key()}"}
    poll = requests.post(server.url + "/api/v1/polls", json=poll_body(), headers=headers, timeout=10).json()
    tokens = [requests.post(server.url + "/api/v1/voters", timeout=10).json()["voter_token"] for _ in range(40)]
    barrier = threading.Barrier(len(tokens) + 1)
    outcomes: list[tuple[str, int, str | None]] = []
    lock = threading.Lock()

    def vote(token: str) -> None:
        barrier.wait()
        response = requests.post(f"{server.url}/api/v1/polls/{poll['id']}/votes", timeout=30,
                                 json={"option_ids": [poll["options"][0]["id"]]}, headers={"X-Voter-Token": token})
        with lock:
            outcomes.append((token, response.status_code, response.json().get("error")))

    threads = [threading.Thread(target=vote, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    barrier.wait()
    closed = requests.patch(f"{server.url}/api/v1/polls/{poll['id']}", json={"status": "closed"}, headers=headers,
                            timeout=30)
    for thread in threads:
        thread.join(timeout=60)
    tried("close_race", len(tokens))
    assert closed.status_code == 200
    codes = Counter((status, error) for _, status, error in outcomes)
    assert set(codes) <= {(201, None), (409, "poll_closed")}, codes
    accepted = [t for t, status, _ in outcomes if status == 201]
    counted = requests.get(f"{server.url}/api/v1/polls/{poll['id']}/results", headers=headers, timeout=10).json()
    assert counted["participants"] == len(accepted)
    for token, status, _ in outcomes:  # the poll is closed: everyone may see has_voted
        seen = requests.get(f"{server.url}/api/v1/polls/{poll['id']}", headers={"X-Voter-Token": token},
                            timeout=10).json()
        assert seen["has_voted"] is (status == 201)


# ---- CSV formula injection ----


def test_csv_export_neutralises_formulas(client: Any, admin: dict[str, str], make_poll: Any) -> None:
    poll = make_poll(options=[{"label": f} for f in FORMULAS])
    csv_text = client.get(f"/api/v1/polls/{poll['id']}/results.csv", headers=admin).get_data().decode("utf-8-sig")
    lines = csv_text.split("\r\n")[1:-3]  # the options; then views and engagement_rate
    assert len(lines) == len(FORMULAS)
    for line, formula in zip(lines, FORMULAS, strict=True):
        label_cell = line.split(",", 1)[1].rsplit(",", 2)[0].strip('"')
        assert label_cell.startswith("'"), line
        assert label_cell.replace('""', '"') == "'" + formula.strip()
        tried("csv")
    # Tab and CR can't even get in: control characters in labels are refused.
    for label in ("\t=1+1", "x\r=1+1", "=1\n+2"):
        clean(client.post("/api/v1/polls", json=poll_body(options=[{"label": label}, {"label": "b"}]),
                          headers=admin), 201, 422)
        tried("csv")


# ---- oversized everything ----


def test_oversized_bodies_strings_lists_and_pages(client: Any, admin: dict[str, str], voted_poll: dict[str, Any],
                                                  voter_token: Any) -> None:
    pid = voted_poll["id"]
    big = "x" * 70_000
    assert_error(client.post("/api/v1/polls", data=big, content_type="application/json", headers=admin),
                 413, "payload_too_large")
    assert_error(client.post(f"/api/v1/polls/{pid}/votes", data=big, content_type="application/json"),
                 413, "payload_too_large")
    assert_error(client.patch(f"/api/v1/polls/{pid}", json={"question": "q" * 70_000}, headers=admin),
                 413, "payload_too_large")
    tried("oversize", 3)
    for fields, where in (({"question": "q" * 501}, "question"), ({"description": "d" * 2001}, "description"),
                          ({"options": [{"label": "l" * 201}, {"label": "b"}]}, "options.0.label"),
                          ({"options": [{"label": str(i)} for i in range(21)]}, "options"),
                          ({"options": [{"label": "only"}]}, "options"), ({"article_id": "a" * 129}, "article_id"),
                          ({"max_choices": 21}, "max_choices"), ({"max_choices": 2**64}, "max_choices")):
        response = client.post("/api/v1/polls", json=poll_body(**fields), headers=admin)
        assert where in assert_error(response, 422, "validation_error")["errors"], response.json
        tried("oversize")
    for query in ("per_page=101", "per_page=0", "per_page=-1", "per_page=100000000000000000000", "page=0",
                  "page=99999999999999999999999", "page=1e3", "per_page=1.5"):
        for path in ("/api/v1/polls", "/api/v1/reports/polls", "/api/v1/audit"):
            assert_error(client.get(f"{path}?{query}", headers=admin), 422, "validation_error")
            tried("oversize")
    assert client.get("/api/v1/polls?page=1000000&per_page=100", headers=admin).json["items"] == []
    long_query = "&".join(f"x{i}={'y' * 50}" for i in range(70))  # 3.8 KB of unknown parameters
    clean(client.get(f"/api/v1/polls?{long_query}", headers=admin), 200, 422)
    clean(client.get(f"/api/v1/polls/{pid}?{long_query}"), 200)
    longer_query = "&".join(f"x{i}={'y' * 50}" for i in range(300))  # 16 KB: past the 8 KiB URL limit
    assert_error(client.get(f"/api/v1/polls?{longer_query}", headers=admin), 414, "uri_too_long")
    assert_error(client.get(f"/api/v1/polls/{pid}?{longer_query}"), 414, "uri_too_long")
    tried("oversize", 2)
    db_intact(client, admin, 1, {pid: 1})


def test_ten_kilobyte_tokens_and_headers(client: Any, admin: dict[str, str], voted_poll: dict[str, Any],
                                         voter_token: Any) -> None:
    pid, option = voted_poll["id"], voted_poll["options"][0]["id"]
    real = voter_token()
    for token in ("A" * 10_240, real + "A" * 10_000, real * 60, "." * 10_240):
        assert_error(client.post(f"/api/v1/polls/{pid}/votes", json={"option_ids": [option]},
                                 headers={"X-Voter-Token": token}), 400, "invalid_voter_token")
        assert client.get(f"/api/v1/polls/{pid}", headers={"X-Voter-Token": token}).json["has_voted"] is False
        tried("10kb", 2)
    assert_error(client.get("/api/v1/polls", headers={"Authorization": "Bearer psk_" + "a" * 10_240}),
                 401, "unauthorized")
    big_user = "u" * 10_000 + ":9999999999:" + "0" * 64
    clean(client.get(f"/api/v1/polls/{pid}", headers={"X-Poll-User": big_user}), 200)
    clean(client.get(f"/api/v1/polls/{pid}", headers={"X-Forwarded-For": ", ".join(["10.0.0.1"] * 1000)}), 200)
    response = client.get("/healthz", headers={"X-Request-ID": "r" * 10_000})
    assert response.status_code == 200 and len(response.headers["X-Request-ID"]) <= 64
    tried("10kb", 4)


# ---- NUL bytes and invalid UTF-8 ----


def test_nul_bytes_and_invalid_utf8_everywhere(client: Any, admin: dict[str, str], voted_poll: dict[str, Any]) -> None:
    pid, option = voted_poll["id"], voted_poll["options"][0]["id"]
    bodies = [b'{"option_ids": [1]}\x00', b'{"option_ids": [\xff]}', b'\xef\xbb\xbf{"option_ids": [1]}',
              b'{"option_ids": [1], "\xc3\x28": 1}', '{"option_ids": [1]}'.encode("utf-16"),
              b'{"option_ids": "\\u0000"}', b'{"option_ids": ["\\ud800"]}', b'{"\\udfff": 1}']
    for body in bodies:
        clean(client.post(f"/api/v1/polls/{pid}/votes", data=body, content_type="application/json"), 400, 422)
        clean(client.post("/api/v1/polls", data=body, content_type="application/json", headers=admin), 400, 422)
        clean(client.post("/api/v1/views", data=body.replace(b"option_ids", b"polls"), content_type="text/plain"),
              204, 400, 422)
        tried("encoding", 3)
    for fields in ({"question": "a\x00b"}, {"question": "\ud800"}, {"description": "x\x00"},
                   {"options": [{"label": "a\x00"}, {"label": "b"}]},
                   {"options": [{"label": "\udc00"}, {"label": "b"}]},
                   {"article_id": "a\x00b"}, {"opens_at": "2030-01-01T00:00:00Z\x00"}, {"status": "open\x00"},
                   {"dedup": "\ud83d"}):
        response = client.post("/api/v1/polls", json=poll_body(**fields), headers=admin)
        clean(response, 400, 422)
        patched = client.patch(f"/api/v1/polls/{pid}", json={k: v for k, v in fields.items() if k != "options"},
                               headers=admin)
        clean(patched, 200, 400, 422)
        tried("encoding", 2)
    for path in (f"/api/v1/polls/{pid}%00", "/api/v1/polls/%00", "/api/v1/articles/a%00b/polls",
                 "/api/v1/articles/%FF%FE/polls", "/api/v1/articles/%C3%28/polls", f"/api/v1/polls/{pid}/%FF",
                 "/api/v1/%00", "/%FF", f"/api/v1/polls/{pid}/results%00.csv"):
        clean(client.get(path, headers=admin), 404, 405, 422)
        tried("encoding")
    for query in ("article_id=a%00b", "article_id=%FF", "status=open%00", "page=1%00", "from=2020-01-01T00:00:00Z%00",
                  "to=%C3%28", "article_id=%ED%A0%80"):
        for path in ("/api/v1/polls", "/api/v1/reports/polls"):
            clean(client.get(f"{path}?{query}", headers=admin), 200, 422)
            tried("encoding")
    for header, value in (("X-Voter-Token", "abc\x00def"), ("X-Poll-User", "u:9999999999:\x00"),
                          ("Authorization", "Bearer psk_\x00_x"), ("Authorization", "Bearer psk_ab\u00e9_x"),
                          ("X-Forwarded-For", "1.2.3.4\x00"), ("X-Request-ID", "id\x00x"),
                          ("X-Voter-Token", "\u00ff" * 20)):
        response = client.post(f"/api/v1/polls/{pid}/votes", json={"option_ids": [option]}, headers={header: value})
        clean(response, 400, 401)
        tried("encoding")
    db_intact(client, admin, 1, {pid: 1})


# ---- Unicode normalisation of labels ----


@pytest.mark.parametrize(("first", "second"), [
    ("Hà Nội", unicodedata.normalize("NFD", "Hà Nội")),                # NFC vs NFD
    ("Đồng ý", "ĐỒNG Ý"),                                                 # case
    ("Không đồng ý", unicodedata.normalize("NFD", "KHÔNG ĐỒNG Ý")),      # both
    ("Phở", "  " + unicodedata.normalize("NFD", "Phở") + "  "),          # trimmed NFD
    (unicodedata.normalize("NFD", "bình thường"), "Bình Thường"),        # NFD first
])
def test_vietnamese_labels_equal_after_normalisation_are_duplicates(client: Any, admin: dict[str, str],
                                                                   first: str, second: str) -> None:
    assert unicodedata.normalize("NFC", first) != second  # really two spellings
    response = client.post("/api/v1/polls", json=poll_body(options=[{"label": first}, {"label": second}]),
                           headers=admin)
    assert "options" in assert_error(response, 422, "validation_error")["errors"]
    tried("unicode")


BIDI_AND_INVISIBLE = [
    "\u202egnp.exe\u202c", "Đồng ý\u202e", "\u2066Không\u2069", "\u202aA\u202c", "\u202dB\u202c",  # reorder text
    "\u200b", "\u200b\u200c\u200d", "\u2060", "\ufeff", "\u3164", "\u115f\u1160", "\u2800", "\u00ad",
    "\u034f", "\u0301",  # draw nothing, or nothing on their own
]


@pytest.mark.parametrize("text", BIDI_AND_INVISIBLE)
def test_bidi_overrides_and_invisible_text_are_refused_on_the_field(client: Any, admin: dict[str, str],
                                                                    make_poll: Any, text: str) -> None:
    cases = [({"options": [{"label": "A"}, {"label": text}]}, "options.1.label"), ({"question": text}, "question"),
             ({"description": text}, "description")]
    for fields, where in cases:
        response = client.post("/api/v1/polls", json=poll_body(**fields), headers=admin)
        assert where in assert_error(response, 422, "validation_error")["errors"], (text, response.json)
        tried("unicode")
    poll = make_poll()
    patched = client.patch(f"/api/v1/polls/{poll['id']}", json={"question": text}, headers=admin)
    assert "question" in assert_error(patched, 422, "validation_error")["errors"]
    tried("unicode")


@pytest.mark.parametrize("text", ["👍", "Có\u200bthể", "שלום\u200f!", "١٢٣", "Đ\u0301", "C++", "?"])
def test_visible_text_with_marks_and_joiners_is_kept(client: Any, admin: dict[str, str], text: str) -> None:
    created = client.post("/api/v1/polls", json=poll_body(options=[{"label": "A"}, {"label": text}]), headers=admin)
    assert created.status_code == 201, created.json
    assert created.json["options"][1]["label"] == text


def test_partial_updates_still_validate_whole_options(client: Any, admin: dict[str, str], make_poll: Any) -> None:
    poll = make_poll()
    for options in ([{}, {}], [{"label": "a"}, {}], [{"label": "a"}, {"label": None}], [{"label": "a"}, "b"],
                    [{"label": "a"}, {"label": "b"}, {"label": "  "}]):
        response = client.patch(f"/api/v1/polls/{poll['id']}", json={"options": options}, headers=admin)
        assert any(k.startswith("options") for k in assert_error(response, 422, "validation_error")["errors"])
        tried("partial")
    assert client.get(f"/api/v1/polls/{poll['id']}", headers=admin).json["options"] == poll["options"]


# ---- mass assignment ----


@pytest.mark.parametrize("field", ["participants", "votes", "id", "created_at", "updated_at", "total_votes",
                                   "archived_at", "has_voted", "results_visible", "state", "api_key_id", "view"])
def test_mass_assignment_is_an_unknown_field(client: Any, admin: dict[str, str], voted_poll: dict[str, Any],
                                             field: str) -> None:
    value: Any = 10_000 if field not in ("created_at", "updated_at", "archived_at") else "2020-01-01T00:00:00Z"
    created = client.post("/api/v1/polls", json=poll_body(**{field: value}), headers=admin)
    assert assert_error(created, 422, "validation_error")["errors"].get(field), created.json
    patched = client.patch(f"/api/v1/polls/{voted_poll['id']}", json={field: value}, headers=admin)
    assert assert_error(patched, 422, "validation_error")["errors"].get(field), patched.json
    nested = client.post("/api/v1/polls", headers=admin, json=poll_body(
        options=[{"label": "A", field: value}, {"label": "B", "votes": 99, "id": 1}]))
    assert "options.0." + field in assert_error(nested, 422, "validation_error")["errors"]
    vote = client.post(f"/api/v1/polls/{voted_poll['id']}/votes", json={"option_ids": [voted_poll["options"][0]["id"]],
                                                                        field: value})
    clean(vote, 400, 422)
    tried("mass_assignment", 4)
    after = client.get(f"/api/v1/polls/{voted_poll['id']}", headers=admin).json
    assert after["participants"] == 1 and after["id"] == voted_poll["id"]


def test_report_corpus_size() -> None:
    """Runs last in this module: how many corpus entries were tried (shown with -s or -rA)."""
    print(f"abuse corpus: {sum(CORPUS.values())} entries tried: {dict(CORPUS)}")
