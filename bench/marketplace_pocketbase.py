"""Prepares PocketBase for bench/marketplace.sh with the same data shape as Plaza's: a `providers` collection
(name, category, lat, lng, rating; indexed on category and lat) of N records spread as Plaza's around Kyiv, a
`requests` collection, and a signed-in user. List and create need a signed-in user, as on Plaza.

Usage: python marketplace_pocketbase.py BASE_URL SUPERUSER_EMAIL PASSWORD N
Prints `token=<user token> category=<the category searched> provider=<a provider id>`.
"""
import json
import random
import sys
import urllib.request

base, email, password, count = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3], int(sys.argv[4])


def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", token)
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"{}")


admin = call("POST", "/api/collections/_superusers/auth-with-password", {"identity": email, "password": password})["token"]
signed_in = '@request.auth.id != ""'
call("POST", "/api/collections", {
    "name": "providers", "type": "base", "listRule": signed_in, "viewRule": signed_in,
    "fields": [{"name": "name", "type": "text"}, {"name": "category", "type": "text"}, {"name": "lat", "type": "number"},
               {"name": "lng", "type": "number"}, {"name": "rating", "type": "number"}],
    "indexes": ["CREATE INDEX idx_providers_category_lat ON providers (category, lat)"],
}, admin)
call("POST", "/api/collections", {
    "name": "requests", "type": "base", "createRule": signed_in, "viewRule": signed_in,
    "fields": [{"name": "category", "type": "text"}, {"name": "provider", "type": "text"}, {"name": "description", "type": "text"},
               {"name": "address", "type": "text"}, {"name": "lat", "type": "number"}, {"name": "lng", "type": "number"}],
}, admin)
call("PATCH", "/api/settings", {"batch": {"enabled": True, "maxRequests": 1000, "timeout": 30, "maxBodySize": 0}}, admin)

categories = ["category-%d" % i for i in range(8)]
generator = random.Random(1001)
first = None
for start in range(0, count, 1000):
    requests = []
    for index in range(start, min(count, start + 1000)):
        requests.append({"method": "POST", "url": "/api/collections/providers/records", "body": {
            "name": "Provider %d" % index, "category": categories[index % len(categories)],
            "lat": 50.4501 + generator.uniform(-0.135, 0.135), "lng": 30.5234 + generator.uniform(-0.21, 0.21),
            "rating": round(generator.uniform(3, 5), 2)}})
    answers = call("POST", "/api/batch", {"requests": requests}, admin)
    if first is None:
        first = answers[0]["body"]["id"]
call("POST", "/api/collections/users/records", {"email": "customer@bench.test", "password": "bench-password", "passwordConfirm": "bench-password"}, admin)
token = call("POST", "/api/collections/users/auth-with-password", {"identity": "customer@bench.test", "password": "bench-password"})["token"]
print("token=%s category=%s provider=%s" % (token, categories[0], first))
