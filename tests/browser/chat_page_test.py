#!/usr/bin/env python3
"""The chat page (GET /) in a real browser: Debian's chromium, headless, driven by Selenium.

Starts minimind-server on the shipped model with its HTTP API and API keys (two tenants), then:
- over plain HTTP: the page's files and their headers (content types, Content-Security-Policy), and
  GET /v1/cache (401 without a key; the caller's sessions only, never another tenant's);
- in the browser: the page asks for the API key; two turns in a new chat, the second served from
  the session's KV (its stats show cached prompt tokens) and the cache view listing the session in
  memory; a fork holding the whole conversation; a reply stopped mid-stream in a new chat (not
  kept in the session) after which the chat goes on; an XSS payload shown as text; a reload
  showing the conversation list and the open chat again; the phone-width layout without sideways
  scrolling; a delete.
Screenshots go to the artifacts directory (--artifacts, default build/test-artifacts/chat_page).
Skips (exit 77) when chromium, chromedriver or python3-selenium is missing.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from e2e_support import check, free_port, http_json, skip  # noqa: E402


def find_browser():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def http_get(url, key=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_http(url, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            status, _, _ = http_get(url)
            if status in (200, 401):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"no HTTP answer from {url}")


def check_http(base):
    status, headers, body = http_get(base + "/")
    check(status == 200, f"GET / answered {status}")
    check(headers.get("Content-Type", "").startswith("text/html"), f"GET / type {headers}")
    policy = headers.get("Content-Security-Policy", "")
    check("script-src 'self'" in policy and "unsafe-inline" not in policy,
          f"GET / has no strict Content-Security-Policy: {policy!r}")
    check(b"<script src=\"/app.js\"" in body and b"<script>" not in body, "inline script in the page")
    for path, kind in (("/app.js", "text/javascript"), ("/app.css", "text/css")):
        status, headers, body = http_get(base + path)
        check(status == 200 and headers.get("Content-Type", "").startswith(kind) and body,
              f"GET {path}: {status} {headers.get('Content-Type')}")
        check(headers.get("X-Content-Type-Options") == "nosniff", f"{path} without nosniff")
    check(b"innerHTML" not in http_get(base + "/app.js")[2], "app.js writes innerHTML")

    status, _, _ = http_get(base + "/v1/cache")
    check(status == 401, f"GET /v1/cache without a key answered {status}")
    status, other = http_json("POST", base + "/v1/sessions", {"labels": {"title": "other's"}},
                              key="sk-other")
    check(status == 200, f"other tenant's session: {status} {other}")
    status, cache = http_json("GET", base + "/v1/cache", key="sk-test")
    check(status == 200, f"GET /v1/cache: {status} {cache}")
    for field in ("blocks_total", "blocks_used", "blocks_cached", "blocks_free", "block_tokens"):
        check(isinstance(cache["kv"].get(field), int), f"cache view kv.{field}: {cache['kv']}")
    check(cache["kv"]["blocks_total"] > 0, f"no KV blocks: {cache['kv']}")
    check(all(s["id"] != other["id"] for s in cache["sessions"]),
          "GET /v1/cache showed another tenant's session")
    status, theirs = http_json("GET", base + "/v1/cache", key="sk-other")
    check([s["id"] for s in theirs["sessions"]] == [other["id"]],
          f"the other tenant's cache view: {theirs['sessions']}")
    check(theirs["sessions"][0]["kv"] == "none", f"a new session holds KV: {theirs['sessions']}")


class Page:
    """The chat page in one browser window."""

    def __init__(self, driver, artifacts):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
        self.driver = driver
        self.artifacts = artifacts
        self.By = By
        self.WebDriverWait = WebDriverWait

    def find(self, css):
        return self.driver.find_element(self.By.CSS_SELECTOR, css)

    def find_all(self, css):
        return self.driver.find_elements(self.By.CSS_SELECTOR, css)

    def wait(self, condition, message, timeout=60):
        try:
            return self.WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(
                lambda _: condition())
        except Exception as error:  # noqa: BLE001 — reported with what was on the page
            self.screenshot("failure")
            raise SystemExit(f"FAIL: {message} ({type(error).__name__}); "
                             f"error line: {self.find('#chat-error').text!r}")

    def screenshot(self, name):
        path = os.path.join(self.artifacts, f"{name}.png")
        self.driver.save_screenshot(path)
        return path

    def set_value(self, css, value):
        element = self.find(css)
        element.clear()
        if value:
            element.send_keys(value)

    def replies(self):
        return self.find_all("#messages li.message.assistant")

    def send(self, text):
        before = len(self.replies())
        self.set_value("#input", text)
        self.find("#send").click()
        self.wait(lambda: len(self.replies()) == before + 1, "the reply never appeared")
        return self.replies()[-1]

    def send_and_finish(self, text):
        reply = self.send(text)
        self.wait(lambda: reply.get_attribute("data-done") is not None, f"no end of reply to {text!r}",
                  timeout=120)
        check(reply.get_attribute("data-done") == "complete",
              f"reply to {text!r} ended as {reply.get_attribute('data-done')}: "
              f"{self.find('#chat-error').text!r}")
        return reply


def browser_tests(base, browser, driver_path, artifacts):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    user_data = tempfile.mkdtemp(prefix="minimind_chromium_")
    options.add_argument(f"--user-data-dir={user_data}")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        page = Page(driver, artifacts)
        driver.get(base + "/")
        # The server wants a key: the page asks for one.
        page.wait(lambda: page.find("#key-form").is_displayed(), "the page never asked for a key")
        page.screenshot("1-asks-for-key")
        page.set_value("#key-input", "sk-test")
        page.find("#key-form button[type=submit]").click()
        page.wait(lambda: page.find("#model").text == "minimind-serve-tiny",
                  "the model name never showed")
        page.wait(lambda: not page.find("#key-form").is_displayed(), "the key form stayed")

        # Settings: short greedy replies.
        page.find("details.settings summary").click()
        page.set_value("#max-tokens", "40")
        page.set_value("#temperature", "0")
        page.set_value("#system-prompt", "You are a helpful assistant.")

        # Two turns: the second reuses the session's KV.
        first = page.send_and_finish("Hello! What is the sea?")
        check(first.find_element(page.By.CSS_SELECTOR, ".text").text.strip() != "",
              "the first reply is empty")
        check("tokens" in first.find_element(page.By.CSS_SELECTOR, ".stats").text,
              "the first reply has no stats")
        session_id = page.wait(lambda: driver.execute_script(
            "return localStorage.getItem('minimind.currentSession')"), "no session made")
        second = page.send_and_finish("Tell me more, please.")
        cached = int(second.get_attribute("data-cached-tokens"))
        prompt = int(second.get_attribute("data-prompt-tokens"))
        check(cached > 0 and cached < prompt,
              f"the second turn reused no KV: cached {cached} of {prompt}")
        check(f"cached {cached} of {prompt} prompt tokens" in
              second.find_element(page.By.CSS_SELECTOR, ".stats").text, "stats without cached tokens")
        # The cache view lists the session with its KV in memory.
        page.wait(lambda: any(row.get_attribute("data-session-id") == session_id and
                              "in memory" in row.text for row in page.find_all("#kv-sessions tr")),
                  "the cache view never showed the session in memory", timeout=20)
        check("Blocks" in page.find("#kv-numbers").text, "the cache view shows no pool numbers")
        check(page.find("#kv-grid").get_attribute("aria-label").startswith("KV pool:"),
              "the KV grid has no description")
        page.screenshot("2-two-turns-and-cache")

        # Fork: a new chat with the whole conversation.
        page.find("#fork").click()
        page.wait(lambda: driver.execute_script(
            "return localStorage.getItem('minimind.currentSession')") not in (None, session_id),
            "the fork never opened")
        fork_id = driver.execute_script("return localStorage.getItem('minimind.currentSession')")
        page.wait(lambda: len(page.find_all("#messages li.message")) == 4,
                  "the fork does not hold the 4 messages")
        page.wait(lambda: len(page.find_all("#conversation-list li")) == 2,
                  "the list does not show both chats")

        # Stop a reply mid-stream, in a new chat: a schema that wants a long string keeps the model
        # writing, and other clients' long requests keep the engine busy meanwhile (as on a
        # shared server), so the reply is still streaming when Stop is pressed.
        page.find("#new-chat").click()
        page.wait(lambda: not page.find_all("#messages li"), "new chat not empty")
        page.set_value("#max-tokens", "440")
        page.set_value("#schema", json.dumps({"type": "string", "minLength": 2000}))
        load = [threading.Thread(target=http_json, args=(
            "POST", base + "/v1/completions",
            {"model": "m", "prompt": "Once upon a time", "max_tokens": 440, "ignore_eos": True}))
            for _ in range(12)]
        for thread in load:
            thread.start()
        # Stop is pressed from inside the page as soon as the reply has streamed a few characters
        # (a polling test could miss a reply that ends quickly on a fast machine).
        driver.execute_script("""
            const observer = new MutationObserver(() => {
              const replies = document.querySelectorAll('#messages li.message.assistant .text');
              const last = replies[replies.length - 1];
              if (last && last.textContent.length > 10 && !document.getElementById('stop').disabled) {
                window.__charsAtStop = last.textContent.length;
                document.getElementById('stop').click();
                observer.disconnect();
              }
            });
            observer.observe(document.getElementById('messages'),
                             {childList: true, subtree: true, characterData: true});""")
        reply = page.send("Write a very long story.")
        page.wait(lambda: reply.get_attribute("data-done") is not None, "the long reply never ended")
        check(reply.get_attribute("data-done") == "stopped",
              f"the reply ended before Stop ({reply.get_attribute('data-done')})")
        check((driver.execute_script("return window.__charsAtStop") or 0) > 10,
              "Stop was not pressed")
        check("not kept" in reply.find_element(page.By.CSS_SELECTOR, ".stats").text,
              "the stopped reply does not say it was not kept")
        page.screenshot("3-stopped")
        for thread in load:
            thread.join()
        stopped_id = driver.execute_script("return localStorage.getItem('minimind.currentSession')")
        check(stopped_id not in (None, session_id, fork_id), "the stopped chat has no session")
        deadline = time.time() + 20
        while True:
            status, stopped = http_json("GET", f"{base}/v1/sessions/{stopped_id}", key="sk-test")
            if status == 200 and not stopped["busy"]:
                break
            check(time.time() < deadline, f"the stopped chat's session stays busy: {stopped}")
            time.sleep(0.1)
        check(stopped["num_messages"] == 0, f"the stopped turn was kept: {stopped}")
        page.set_value("#schema", "")
        page.set_value("#max-tokens", "40")

        # The chat goes on after a stop; an XSS payload is shown as text and runs nothing.
        payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold</b>'
        page.send_and_finish(payload)
        user_texts = [m.find_element(page.By.CSS_SELECTOR, ".text").text
                      for m in page.find_all("#messages li.message.user")]
        check(payload in user_texts, f"the payload is not shown as text: {user_texts}")
        check(not page.find_all("#messages img, #messages script, #messages b"),
              "message markup became elements")
        check(driver.execute_script("return window.__xss === undefined"), "the payload ran")
        page.screenshot("4-xss-as-text")

        # Reload: the key, the chat list and the open chat (without the stopped turn) come back.
        driver.refresh()
        page.wait(lambda: len(page.find_all("#conversation-list li")) == 3,
                  "after a reload the chat list is not there")
        page.wait(lambda: len(page.find_all("#messages li.message")) == 2,
                  "after a reload the open chat is not shown")
        titles = sorted(li.text for li in page.find_all("#conversation-list li"))
        check(titles == ["Hello! What is the sea?"] * 2 + ["Write a very long story."],
              f"titles: {titles}")
        check(payload in page.find("#messages li.message.user .text").text,
              "after a reload the payload is not shown as text")
        page.screenshot("5-reloaded")

        # A phone-width screen: one column, nothing wider than the screen.
        driver.set_window_size(390, 844)
        page.wait(lambda: page.find("#toggle-conversations").is_displayed(),
                  "no chat-list button at phone width")
        page.screenshot("6-phone")
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth")
        wide = driver.execute_script(
            "return Array.from(document.querySelectorAll('body *')).filter("
            "e => e.getBoundingClientRect().right > window.innerWidth + 1)"
            ".map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)")
        check(overflow <= 1, f"the page scrolls sideways by {overflow}px at phone width: {wide}")
        driver.set_window_size(1280, 900)

        # Delete the open chat: two left.
        page.find("#delete").click()
        page.wait(lambda: len(page.find_all("#conversation-list li")) == 2, "delete left the chat")
        status, _ = http_json("GET", f"{base}/v1/sessions/{stopped_id}", key="sk-test")
        check(status == 404, f"the deleted chat's session still answers {status}")
        logs = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
                and "401" not in entry["message"] and "404" not in entry["message"]]
        check(not logs, f"browser console errors: {logs}")
    finally:
        driver.quit()
        shutil.rmtree(user_data, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--artifacts", required=True)
    args = parser.parse_args()
    browser = find_browser()
    driver_path = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    if browser is None or driver_path is None:
        skip("chromium or chromedriver is not installed (scripts/install-deps.sh --test)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        skip("python3-selenium is not installed (scripts/install-deps.sh --test)")
    os.makedirs(args.artifacts, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="minimind_page_") as scratch:
        keys = os.path.join(scratch, "keys.json")
        with open(keys, "w") as f:
            json.dump({"tenants": {"web": {}, "other": {}}, "keys": [
                {"sha256": hashlib.sha256(b"sk-test").hexdigest(), "tenant": "web"},
                {"sha256": hashlib.sha256(b"sk-other").hexdigest(), "tenant": "other"}]}, f)
        http_port = free_port()
        server = subprocess.Popen([args.server, "--listen", "127.0.0.1:0", "--model", args.model,
                                   "--http-listen", f"127.0.0.1:{http_port}",
                                   "--api-keys-file", keys],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{http_port}"
        try:
            wait_http(base + "/v1/models")
            # /v1/models answers before the model is loaded; the cache view needs the engine.
            deadline = time.time() + 120
            while http_json("GET", base + "/v1/cache", key="sk-test")[0] != 200:
                check(time.time() < deadline, "the model never loaded")
                time.sleep(0.1)
            check_http(base)
            browser_tests(base, browser, driver_path, args.artifacts)
        finally:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
    print(f"chat page: OK (screenshots in {args.artifacts})")


if __name__ == "__main__":
    main()
