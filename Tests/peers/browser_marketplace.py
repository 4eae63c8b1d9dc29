"""Two headless Chromium sessions, a customer and a provider, go through the marketplace's pages: the customer
finds the demo provider and asks for a visit; the provider accepts; they chat; the provider starts and
completes the job; the customer reviews. Each side must see the other's moves arrive live (the pages' script
swaps live regions; a marker set on the page before proves there was no reload).

Usage: python browser_marketplace.py BASE_URL CUSTOMER_EMAIL PROVIDER_EMAIL PASSWORD SCREENSHOT_DIR
Prints each step as it passes and "ok" at the end; exits non-zero on failure.
"""
import os
import struct
import sys
import zlib
from urllib.parse import urlparse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait as SeleniumWait

base, customer_email, provider_email, password, shots = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
os.makedirs(shots, exist_ok=True)


def WebDriverWait(driver, seconds):
    """Waits that look again when a live region was swapped under them."""
    return SeleniumWait(driver, seconds, ignored_exceptions=[StaleElementReferenceException])


def browser():
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=en-GB", "--window-size=420,900"]:
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def sign_in(driver, email, next_path):
    driver.get(base + "/sign-in?next=" + next_path)
    form = driver.find_element(By.CSS_SELECTOR, 'form[action="/sign-in"]')
    form.find_element(By.NAME, "email").send_keys(email)
    form.find_element(By.NAME, "password").send_keys(password)
    form.find_element(By.CSS_SELECTOR, "button").click()
    # The sign-in page's own URL names next_path in its query: wait for the path itself.
    WebDriverWait(driver, 15).until(lambda d: urlparse(d.current_url).path == next_path)


def wait_live(driver, topic_prefix):
    """Waits until the page's socket is open and subscribed to a topic starting with topic_prefix; marks the page."""
    WebDriverWait(driver, 20).until(lambda d: topic_prefix in (d.find_element(By.TAG_NAME, "html").get_attribute("data-subscribed") or ""))
    driver.execute_script("window.plazaMarker = 'same page';")


def same_page(driver):
    return driver.execute_script("return window.plazaMarker") == "same page"


def png(path, width=48, height=32):
    """A small solid-colour PNG, written without an imaging library: the photo the customer attaches."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + b"\x30\x80\xc0" * width for _ in range(height))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def step(name, driver):
    driver.save_screenshot(os.path.join(shots, name + ".png"))
    print(name, flush=True)


customer, provider = browser(), browser()
try:
    sign_in(customer, customer_email, "/marketplace")
    sign_in(provider, provider_email, "/marketplace/provider")
    step("01-provider-dashboard", provider)

    customer.get(base + "/marketplace?q=provider")
    link = WebDriverWait(customer, 10).until(lambda d: d.find_element(By.PARTIAL_LINK_TEXT, "Provider Demo"))
    step("02-customer-search", customer)
    link.click()
    form = WebDriverWait(customer, 10).until(lambda d: d.find_element(By.ID, "request-form"))
    form.find_element(By.NAME, "description").send_keys("The shower drains slowly.")
    address = form.find_element(By.NAME, "address")
    address.clear()
    address.send_keys("Khreshchatyk 1, Kyiv")
    form.find_element(By.NAME, "photos").send_keys(png(os.path.abspath(os.path.join(shots, "drain.png"))))
    step("03-customer-request-form", customer)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(customer, 10).until(lambda d: "/marketplace/requests/" in d.current_url)
    request_url = customer.current_url.split("?")[0]
    assert customer.find_elements(By.CSS_SELECTOR, "ul.photos img"), "the photo sent with the form is on the request's page"
    wait_live(customer, "marketplace-request:")
    step("04-customer-request-pending", customer)

    provider.get(request_url)
    wait_live(provider, "marketplace-request:")
    accept = provider.find_element(By.CSS_SELECTOR, 'form[action$="/accept"]')
    accept.find_element(By.NAME, "price").send_keys("65")
    accept.find_element(By.CSS_SELECTOR, "button").click()
    WebDriverWait(provider, 10).until(lambda d: d.find_element(By.ID, "status").get_attribute("data-status") == "accepted")
    wait_live(provider, "conversation:")
    step("05-provider-accepted", provider)

    WebDriverWait(customer, 20).until(lambda d: d.find_element(By.ID, "status").get_attribute("data-status") == "accepted")
    assert same_page(customer), "the customer's page reloaded instead of updating live"
    step("06-customer-sees-accepted-live", customer)

    chat = provider.find_element(By.ID, "chat-form")
    chat.find_element(By.NAME, "body").send_keys("On my way, in 20 minutes.")
    chat.find_element(By.CSS_SELECTOR, "button").click()
    WebDriverWait(customer, 20).until(lambda d: "On my way, in 20 minutes." in d.find_element(By.ID, "messages").text)
    assert same_page(customer), "the customer's page reloaded instead of updating live"
    step("07-customer-sees-message-live", customer)

    wait_live(provider, "conversation:")
    chat = customer.find_element(By.ID, "chat-form")
    chat.find_element(By.NAME, "body").send_keys("Thank you, the door code is 42.")
    chat.find_element(By.CSS_SELECTOR, "button").click()
    WebDriverWait(provider, 20).until(lambda d: "the door code is 42" in d.find_element(By.ID, "messages").text)
    assert same_page(provider), "the provider's page reloaded instead of updating live"
    step("08-provider-sees-message-live", provider)

    wait_live(customer, "marketplace-request:")
    provider.find_element(By.CSS_SELECTOR, 'form[action$="/start"] button').click()
    WebDriverWait(customer, 20).until(lambda d: d.find_element(By.ID, "status").get_attribute("data-status") == "in_progress")
    assert same_page(customer), "the customer's page reloaded instead of updating live"
    step("09-customer-sees-started-live", customer)
    complete = WebDriverWait(provider, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, 'form[action$="/complete"]'))
    complete.find_element(By.CSS_SELECTOR, "button").click()
    WebDriverWait(customer, 20).until(lambda d: d.find_element(By.ID, "status").get_attribute("data-status") == "completed")
    step("10-customer-sees-completed-live", customer)

    customer.get(request_url)
    review = customer.find_element(By.ID, "review-form")
    review.find_element(By.NAME, "text").send_keys("Fast, friendly and tidy.")
    review.find_element(By.CSS_SELECTOR, "button").click()
    WebDriverWait(customer, 10).until(lambda d: "Fast, friendly and tidy." in d.find_element(By.ID, "review").text)
    step("11-customer-reviewed", customer)
    print("ok", flush=True)
except Exception as error:
    print("FAIL:", type(error).__name__, error)
    for name, driver in [("customer", customer), ("provider", provider)]:
        print(name, "at", driver.current_url)
        driver.save_screenshot(os.path.join(shots, "failure-" + name + ".png"))
        print(driver.page_source[:3000])
    sys.exit(1)
finally:
    customer.quit()
    provider.quit()
