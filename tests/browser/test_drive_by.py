"""Drive-by votes: a page on a site the service does not allow, opened by a reader who clicks
nothing, tries every way a script has to vote through the reader's browser. None may count."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.browser.helpers import Api
from tests.helpers import Server

pytestmark = pytest.mark.browser


def test_a_foreign_page_cannot_vote_through_its_visitors(strict_page: Page, live_server: Server, live_api: Api,
                                                         other_site: Callable[[str, str], str]) -> None:
    polls = [live_api("POST", "/api/v1/polls", json={
        "article_id": "drive-by", "question": f"Câu hỏi {dedup}?", "dedup": dedup,
        "options": [{"label": "Có"}, {"label": "Không"}]}).json() for dedup in ("token", "ip")]
    api = f"{live_server.url}/api/v1"
    choices = {p["dedup"]: json.dumps({"option_ids": [p["options"][0]["id"]]}) for p in polls}
    token_poll, ip_poll = polls
    page = strict_page
    page.goto(other_site("/drive-by.html", f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Trang lạ</title></head><body>
<div data-pollsvc-article="drive-by"></div>
<script src="{live_server.url}/widget.js" async></script>
<iframe src="{live_server.url}/embed/articles/drive-by" title="Bình chọn"></iframe>
<script>
window.outcomes = {{}};
async function attempt(name, request) {{
  try {{ await (await request()).json(); window.outcomes[name] = "read"; }}
  catch (error) {{ window.outcomes[name] = "blocked"; }}
}}
(async () => {{
  await attempt("challenge", () => fetch("{api}/voters/challenge"));
  await attempt("token", () => fetch("{api}/voters", {{method: "POST", headers: {{"Content-Type": "application/json"}},
                                                       body: "{{}}"}}));
  await attempt("vote", () => fetch("{api}/polls/{token_poll['id']}/votes", {{method: "POST",
      headers: {{"Content-Type": "application/json", "X-Voter-Token": "x"}}, body: '{choices["token"]}'}}));
  // no preflight, response unreadable: only the request's effect could count
  await fetch("{api}/polls/{ip_poll['id']}/votes", {{method: "POST", mode: "no-cors",
      headers: {{"Content-Type": "text/plain"}}, body: '{choices["ip"]}'}});
  window.done = true;
}})();
</script>
</body></html>"""))
    page.wait_for_function("() => window.done === true")
    page.wait_for_timeout(1500)  # the widget and the frame have had their chance too

    assert page.evaluate("() => window.outcomes") == {"challenge": "blocked", "token": "blocked", "vote": "blocked"}
    assert page.locator("[data-pollsvc-article] input").count() == 0  # the widget could not read the polls
    frame = page.frames[-1]
    assert "Câu hỏi" not in (frame.content() if frame != page.main_frame else "")  # frame-ancestors refused it
    for poll in polls:
        assert live_api("GET", f"/api/v1/polls/{poll['id']}/results").json()["participants"] == 0
