"""A real browser (headless Chromium through selenium) signs up, edits its profile, signs out and in,
and is then lured to a same-site attacker page that auto-posts a form to Plaza: the post carries the
session cookie (same site, SameSite=Lax) but no CSRF token, and must be refused.

Usage: python browser_sign_in.py BASE_URL   (prints one line per step; exits non-zero on the first failure)
"""
import http.server
import sys
import threading
import time

started = time.monotonic()

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

base = sys.argv[1].rstrip("/")

options = webdriver.ChromeOptions()
for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=en-GB"]:
    options.add_argument(argument)
options.binary_location = "/usr/bin/chromium"
print("browser starting", f"{time.monotonic() - started:.1f}s")
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 15)


def fail(message):
    print("FAIL:", message, "at", driver.current_url)
    print(driver.page_source[:3000])
    sys.exit(1)


def submit(form_action, fields):
    form = driver.find_element(By.CSS_SELECTOR, f'form[action="{form_action}"]')
    for name, value in fields.items():
        element = form.find_element(By.NAME, name)
        if element.tag_name == "select":
            element.find_element(By.CSS_SELECTOR, f'option[value="{value}"]').click()
        else:
            element.clear()
            element.send_keys(value)
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()


class AttackPage(http.server.BaseHTTPRequestHandler):
    """Another port of the same host: the same site to the browser, another origin to Plaza."""

    def do_GET(self):
        page = (
            f'<!doctype html><form method="post" action="{base}/account">'
            '<input name="firstName" value="Mallory"><input name="lastName" value="Forged"></form>'
            "<script>document.forms[0].submit()</script>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(page.encode())

    def log_message(self, *args):
        pass


try:
    driver.get(base + "/sign-up")
    submit("/sign-up", {"email": "browser@example.com", "password": "correct horse", "firstName": "Ada", "lastName": "Lovelace"})
    wait.until(EC.url_contains("/account"))
    if "Ada Lovelace" not in driver.page_source or "Welcome!" not in driver.page_source:
        fail("sign-up did not land on the account page")
    print("signed up", f"{time.monotonic() - started:.1f}s")

    submit("/account", {"bio": "Notes on the analytical engine", "mobile": "+380501234567"})
    wait.until(EC.url_contains("notice=profile-saved"))
    if "Your profile is saved." not in driver.page_source or "Notes on the analytical engine" not in driver.page_source:
        fail("the profile was not saved")
    print("profile saved", f"{time.monotonic() - started:.1f}s")

    driver.find_element(By.CSS_SELECTOR, 'form[action="/sign-out"] button').click()
    wait.until(EC.url_contains("/sign-in"))
    if "You are signed out." not in driver.page_source:
        fail("sign-out did not say so")
    driver.get(base + "/account")
    if "/sign-in?next=%2Faccount" not in driver.current_url:
        fail("a signed-out browser was not sent to the sign-in page")
    submit("/sign-in", {"email": "browser@example.com", "password": "wrong password"})
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".problem")))
    if "The email or password is wrong." not in driver.page_source:
        fail("a wrong password was not reported")
    submit("/sign-in", {"email": "browser@example.com", "password": "correct horse"})
    wait.until(EC.url_to_be(base + "/account"))
    print("signed in", f"{time.monotonic() - started:.1f}s")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AttackPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver.get(f"http://127.0.0.1:{server.server_address[1]}/")
    wait.until(EC.url_to_be(base + "/account"))
    if "This form has expired" not in driver.page_source:
        fail("the forged post was not refused with the CSRF page")
    driver.get(base + "/account")
    if "Mallory" in driver.page_source or "Ada Lovelace" not in driver.page_source:
        fail("the forged post changed the profile")
    server.shutdown()
    print("forged post refused", f"{time.monotonic() - started:.1f}s")
finally:
    driver.quit()
