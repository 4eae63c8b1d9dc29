"""Headless Chromium signs in, opens the inbox page and waits: the page's one script (live.js) subscribes to
the person's topic over the realtime WebSocket (the session cookie authenticates it), and the unread badge
must change to 1 without a reload once the test sends a notification. Then the page opens an EventSource on
the same topic (Server-Sent Events, the cookie again) and must receive the next notification's event.

Usage: python browser_live_badge.py BASE_URL EMAIL PASSWORD
Prints "live" once the socket is subscribed, "badge 1" when the badge shows it, "sse open" and "sse event" as
the event stream opens and delivers; exits non-zero on failure.
"""
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

base, email, password = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
options = webdriver.ChromeOptions()
for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=en-GB"]:
    options.add_argument(argument)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
try:
    driver.get(base + "/sign-in?next=/notifications")
    form = driver.find_element(By.CSS_SELECTOR, 'form[action="/sign-in"]')
    form.find_element(By.NAME, "email").send_keys(email)
    form.find_element(By.NAME, "password").send_keys(password)
    form.find_element(By.CSS_SELECTOR, "button").click()
    WebDriverWait(driver, 15).until(lambda d: d.current_url.endswith("/notifications"))
    # The URL changes when the navigation commits, before the new page's elements are there.
    badge = WebDriverWait(driver, 15).until(lambda d: (d.find_elements(By.ID, "unread-badge") or [None])[0])
    if badge.text != "0":
        print("FAIL: the badge starts at", badge.text)
        sys.exit(1)
    WebDriverWait(driver, 15).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("data-live") == "on")
    print("live", flush=True)
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "unread-badge").text == "1")
    print("badge 1", flush=True)
    if "empty" in driver.find_element(By.ID, "unread-badge").get_attribute("class"):
        print("FAIL: the badge still looks empty")
        sys.exit(1)
    topic = driver.find_element(By.CSS_SELECTOR, "a.inbox[data-topic]").get_attribute("data-topic")
    driver.execute_script("""
        window.sseFrames = [];
        var source = new EventSource("/api/v1/realtime/events?topics=" + encodeURIComponent(arguments[0]));
        source.onopen = function () { document.documentElement.setAttribute("data-sse", "open"); };
        source.onmessage = function (message) { window.sseFrames.push(message.data); };
    """, topic)
    WebDriverWait(driver, 15).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("data-sse") == "open")
    print("sse open", flush=True)
    WebDriverWait(driver, 30).until(
        lambda d: any('"type":"event"' in frame and topic in frame for frame in d.execute_script("return window.sseFrames")))
    print("sse event", flush=True)
except Exception as error:
    print("FAIL:", type(error).__name__, error, "at", driver.current_url)
    print(driver.page_source[:2000])
    sys.exit(1)
finally:
    driver.quit()
