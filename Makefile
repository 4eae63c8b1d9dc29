# Plaza — the two commands of the README, and a few more for developers.
.PHONY: demo test format schemathesis build bench bench-realtime bench-files bench-workflows bench-marketplace bench-graphql openapi clean

## Run Plaza with demo data on the embedded SQLite database (./plaza-data), at http://127.0.0.1:8080
demo:
	scripts/deps.sh demo
	swift run plaza serve --demo

## Run every test: SQLite, then PostgreSQL on a throwaway local cluster
test:
	scripts/test.sh

## Rewrite the Swift sources to .swift-format (make test fails on what this would change)
format:
	swift format format -i -r -p Sources Tests bench Package.swift

## schemathesis over /openapi.json as five roles, each against a fresh demo server (debug build)
schemathesis:
	scripts/deps.sh test
	swift build
	scripts/schemathesis.sh

build:
	swift build

## Benchmarks (release build), printed as tables
bench:
	bench/run.sh

## Realtime fan-out and idle connections, Plaza beside PocketBase (release build), printed as tables
bench-realtime:
	bench/realtime.sh

## Image variants of a 24-megapixel JPEG and a 200 MB upload with the server's memory (release build)
bench-files:
	bench/files.sh

# Durable workflows per second, Plaza beside DBOS, on SQLite and PostgreSQL with fsync on.
bench-workflows:
	bench/workflows.sh

# Marketplace search and request creation beside PocketBase, 10,000 providers each.
bench-marketplace:
	bench/marketplace.sh

# GraphQL under its limits: the checks' cost, /graphql at 64 connections, the attacks of issue #20 timed.
bench-graphql:
	bench/graphql.sh

## Print the OpenAPI document
openapi:
	swift run plaza openapi

clean:
	rm -rf .build plaza-data
