"""Real headless Chromium through Plaza's OpenID Connect pages: the sign-in page, the consent page, and the
redirect back to the client — which the browser only follows if the pages' Content-Security-Policy
(`form-action`) lets a form's redirect chain end at the client. A small HTTP server on the loopback plays
the client (a native app's redirect on any port, RFC 8252).

Usage: python browser_oidc.py BASE_URL CLIENT_ID EMAIL PASSWORD SCREENSHOT_DIR
Prints each step as it passes and "ok" at the end; exits non-zero on failure.
"""
import http.server
import os
import sys
import threading
from urllib.parse import urlencode, urlparse, parse_qs

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

base, client_id, email, password, shots = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
os.makedirs(shots, exist_ok=True)


class Callback(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body><h1 id='client'>client got the answer</h1></body></html>")

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Callback)
threading.Thread(target=server.serve_forever, daemon=True).start()
redirect = "http://127.0.0.1:%d/callback" % server.server_port


def browser():
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=en-GB", "--window-size=420,900"]:
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def authorize_url(state):
    return base + "/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect, "scope": "openid profile email",
        "state": state, "nonce": "n-" + state, "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"})


def landed(driver, state):
    WebDriverWait(driver, 15).until(lambda d: d.current_url.startswith(redirect))
    answer = parse_qs(urlparse(driver.current_url).query)
    assert answer.get("state") == [state] and answer.get("code"), driver.current_url
    assert driver.find_element(By.ID, "client").text == "client got the answer"


def sign_in(driver):
    form = WebDriverWait(driver, 15).until(lambda d: d.find_element(By.CSS_SELECTOR, 'form[action="/sign-in"]'))
    form.find_element(By.NAME, "email").send_keys(email)
    form.find_element(By.NAME, "password").send_keys(password)
    form.find_element(By.CSS_SELECTOR, "button").click()


first, second = browser(), browser()
try:
    first.get(authorize_url("one"))
    sign_in(first)
    allow = WebDriverWait(first, 15).until(lambda d: d.find_element(By.CSS_SELECTOR, '#consent-form button[value="allow"]'))
    first.save_screenshot(os.path.join(shots, "01-consent.png"))
    allow.click()
    landed(first, "one")
    print("consent page: the allow button's redirect reaches the client", flush=True)

    # Consent is remembered: the sign-in form's own redirect chain now ends at the client.
    second.get(authorize_url("two"))
    sign_in(second)
    landed(second, "two")
    print("sign-in form: its redirect chain reaches the client", flush=True)

    first.get(authorize_url("three"))
    landed(first, "three")
    print("signed in already: straight back", flush=True)
    print("ok")
finally:
    first.quit()
    second.quit()
    server.shutdown()
