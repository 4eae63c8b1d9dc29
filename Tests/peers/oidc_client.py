"""A real OpenID Connect client — Authlib's — against a running Plaza: discovery, authorization code with
PKCE (a person signs in and allows the app through Plaza's own pages, driven here as a browser would),
the ID token checked against the published keys (signature, issuer, audience, nonce, at_hash), userinfo,
refresh, revocation, and a service's client_credentials; introspection reports each token's state.

Usage: python oidc_client.py BASE_URL EMAIL PASSWORD APP_ID APP_SECRET SERVICE_ID SERVICE_SECRET REDIRECT_URI
Prints each step as it passes and "ok" at the end; exits non-zero on failure.
"""
import re
import sys
import warnings
from html import unescape
from urllib.parse import urljoin

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.common.security import generate_token

warnings.filterwarnings("ignore", category=DeprecationWarning)
from authlib.jose import JsonWebKey, jwt  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402

base, email, password, app_id, app_secret, service_id, service_secret, redirect_uri = sys.argv[1:9]
base = base.rstrip("/")


def step(name):
    print(name, flush=True)


def hidden_fields(html, form_id=None):
    """The hidden inputs of a page's form (the CSRF token, the consent form's parameters)."""
    if form_id:
        match = re.search(r'<form[^>]*id="%s".*?</form>' % form_id, html, re.S)
        assert match, "no form %s on the page" % form_id
        html = match.group(0)
    return {unescape(n): unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}


config = requests.get(base + "/.well-known/openid-configuration").json()
assert config["issuer"] == base, config["issuer"]
assert "S256" in config["code_challenge_methods_supported"]
step("discovery")

# The app sends the person to the authorization endpoint with PKCE and a nonce.
app = OAuth2Session(app_id, app_secret, scope="openid profile email offline_access", redirect_uri=redirect_uri,
                    code_challenge_method="S256")
verifier = generate_token(64)
nonce = generate_token(20)
url, state = app.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier, nonce=nonce)

# The person's browser: sent to sign in, then back to the consent page, then allows.
browser = requests.Session()
answer = browser.get(url, allow_redirects=False)
assert answer.status_code == 303 and "/sign-in?next=" in answer.headers["Location"], answer.status_code
sign_in = browser.get(urljoin(base, answer.headers["Location"]))
fields = hidden_fields(sign_in.text)
fields.update({"email": email, "password": password})
answer = browser.post(base + "/sign-in", data=fields, allow_redirects=False)
assert answer.status_code == 303 and answer.headers["Location"].startswith("/oauth/authorize?"), (answer.status_code, answer.text[:300])
consent = browser.get(base + answer.headers["Location"], allow_redirects=False)
assert consent.status_code == 200 and 'id="consent-form"' in consent.text, consent.status_code
step("sign-in and consent pages")
fields = hidden_fields(consent.text, "consent-form")
fields["decision"] = "allow"
answer = browser.post(config["authorization_endpoint"], data=fields, allow_redirects=False)
callback = answer.headers["Location"]
assert callback.startswith(redirect_uri + "?") and "code=" in callback, callback

token = app.fetch_token(config["token_endpoint"], authorization_response=callback, code_verifier=verifier)
assert token["token_type"] == "Bearer" and token.get("refresh_token") and token.get("id_token"), token
step("code exchanged")

keys = JsonWebKey.import_key_set(requests.get(config["jwks_uri"]).json())
claims = jwt.decode(
    token["id_token"], keys, claims_cls=CodeIDToken,
    claims_options={"iss": {"essential": True, "value": config["issuer"]}},
    claims_params={"nonce": nonce, "client_id": app_id, "access_token": token["access_token"]})
claims.validate()
assert claims["email"] == email, claims
step("id token verified")

info = app.get(config["userinfo_endpoint"]).json()
assert info["sub"] == claims["sub"] and info["email"] == email, info
step("userinfo")

service = OAuth2Session(service_id, service_secret)


def active(token_value, hint=None):
    answer = service.introspect_token(config["introspection_endpoint"], token=token_value, token_type_hint=hint)
    assert answer.status_code == 200, answer.text
    return answer.json()["active"]


assert active(token["access_token"]) is True
old_refresh = token["refresh_token"]
refreshed = app.refresh_token(config["token_endpoint"], refresh_token=old_refresh)
assert refreshed["refresh_token"] != old_refresh and refreshed["access_token"] != token["access_token"], refreshed
step("refreshed")

revoked = app.revoke_token(config["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token")
assert revoked.status_code == 200, revoked.text
assert active(refreshed["refresh_token"], "refresh_token") is False
assert active(refreshed["access_token"]) is False, "revoking the refresh token ends its session's access tokens"
step("revoked; introspection says inactive")

own = service.fetch_token(config["token_endpoint"], grant_type="client_credentials")
assert own["token_type"] == "Bearer" and "refresh_token" not in own, own
assert active(own["access_token"]) is True
step("client credentials")
print("ok")
