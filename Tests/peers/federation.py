"""Federation between two Plaza processes: B signs people in through A (an OpenID Connect provider). Drives
B's and A's pages as a browser would (A on 127.0.0.1, B on localhost, so their cookies stay apart).

Usage: python federation.py B_URL A_URL PASSWORD
Prints each step as it passes and "ok" at the end; exits non-zero on failure.
"""
import re
import sys
from html import unescape

import requests

b, a, password = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/"), sys.argv[3]


def step(name):
    print(name, flush=True)


def hidden(html, form=None):
    if form:
        html = re.search(r'<form[^>]*id="%s".*?</form>' % form, html, re.S).group(0)
    return {unescape(n): unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}


def absolute(base, location):
    return location if location.startswith("http") else base + location


def sign_in_through_a(browser, email, expect_password=True, expect_consent=True, secret=password):
    """From B's sign-in page through A and back; returns B's final answer (not followed)."""
    page = browser.get(b + "/sign-in?next=/account")
    link = re.search(r'href="(/sign-in/federated/[^"]+)"[^>]*>Sign in with Plaza A<', page.text)
    assert link, "B's sign-in page offers Plaza A"
    answer = browser.get(b + unescape(link.group(1)), allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"].startswith(a + "/oauth/authorize?"), answer.headers.get("Location")
    answer = browser.get(answer.headers["Location"], allow_redirects=False)
    if expect_password:
        assert "/sign-in?next=" in answer.headers["Location"], answer.headers["Location"]
        form = browser.get(absolute(a, answer.headers["Location"]))
        fields = hidden(form.text)
        fields.update({"email": email, "password": secret})
        answer = browser.post(a + "/sign-in", data=fields, allow_redirects=False)
        answer = browser.get(absolute(a, answer.headers["Location"]), allow_redirects=False)
    if expect_consent:
        assert answer.status_code == 200 and 'id="consent-form"' in answer.text, answer.status_code
        fields = hidden(answer.text, "consent-form")
        fields["decision"] = "allow"
        answer = browser.post(a + "/oauth/authorize", data=fields, allow_redirects=False)
    callback = answer.headers["Location"]
    assert callback.startswith(b + "/sign-in/federated/callback?"), callback
    return browser.get(callback, allow_redirects=False)


# A Plaza account with the same verified address: linked, signed in.
customer = requests.Session()
answer = sign_in_through_a(customer, "customer@demo.plaza.test")
assert answer.status_code == 303 and answer.headers["Location"] == "/account", (answer.status_code, answer.text[:400])
assert "customer@demo.plaza.test" in customer.get(b + "/account").text
step("linked by verified email")

# Signed out of B, back in through A: A remembers the person and the consent; B follows the link.
account = customer.get(b + "/account")
customer.post(b + "/sign-out", data={"_csrf": re.search(r'name="_csrf" value="([^"]+)"', account.text).group(1)})
assert customer.get(b + "/account", allow_redirects=False).status_code in (303, 401), "signed out of B"
answer = sign_in_through_a(customer, "customer@demo.plaza.test", expect_password=False, expect_consent=False)
assert answer.status_code == 303 and "customer@demo.plaza.test" in customer.get(b + "/account").text
step("signed in again through the link")

# Nobody at B has this address: a new account, its email verified by A.
provider = requests.Session()
answer = sign_in_through_a(provider, "provider@demo.plaza.test")
assert answer.status_code == 303, (answer.status_code, answer.text[:400])
assert "provider@demo.plaza.test" in provider.get(b + "/account").text
step("new account made")

# B has this address, unverified: no link (it might not be the same person's).
employee = requests.Session()
answer = sign_in_through_a(employee, "employee@demo.plaza.test")
assert answer.status_code == 409 and "verify" in answer.text.lower(), (answer.status_code, answer.text[:400])
step("unverified local address refused")

# A does not vouch for the address: refused.
requests.post(a + "/api/v1/auth/register", json={"email": "sam@example.com", "password": "correct horse", "firstName": "Sam", "lastName": "Test"}).raise_for_status()
sam = requests.Session()
answer = sign_in_through_a(sam, "sam@example.com", secret="correct horse")
assert answer.status_code == 403 and "vouch" in answer.text, (answer.status_code, answer.text[:400])
step("unverified provider address refused")

# Someone else's callback link, opened in this browser, signs nobody in (the state is tied to the browser
# that started); the browser that started it can still finish.
attacker, victim = requests.Session(), requests.Session()
page = attacker.get(b + "/sign-in?next=/account")
link = re.search(r'href="(/sign-in/federated/[^"]+)"', page.text).group(1)
answer = attacker.get(b + unescape(link), allow_redirects=False)
answer = attacker.get(answer.headers["Location"], allow_redirects=False)
form = attacker.get(absolute(a, answer.headers["Location"]))
fields = hidden(form.text)
fields.update({"email": "provider@demo.plaza.test", "password": password})
answer = attacker.post(a + "/sign-in", data=fields, allow_redirects=False)
answer = attacker.get(absolute(a, answer.headers["Location"]), allow_redirects=False)
callback = answer.headers["Location"]
assert callback.startswith(b + "/sign-in/federated/callback?"), callback
planted = victim.get(callback, allow_redirects=False)
assert planted.status_code == 400 and "did not start in this browser" in planted.text, (planted.status_code, planted.text[:300])
assert victim.get(b + "/account", allow_redirects=False).status_code != 200, "the victim is not signed in"
assert attacker.get(callback, allow_redirects=False).status_code == 303
step("a planted callback refused")

# A forged or replayed answer: the state is spent.
answer = sam.get(b + "/sign-in/federated/callback?code=x&state=nope", allow_redirects=False)
assert answer.status_code == 400, answer.status_code
step("unknown state refused")
print("ok")
