# trouw: the commands in the README. `make dev` runs it locally, `make test` tests everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
VENV_STAMP  := $(VENV)/.installed
PORT           ?= 3000
LOCAL_AWS_PORT ?= 4566
# A documented, local-only demo secret (see README). Never use it for a real shop.
DEMO_WEBHOOK_SECRET ?= whsec_bG9jYWwtb25seS1kZW1vLXNlY3JldC0xMjM0NTY=
DEMO_SHOPIFY_SECRET ?= local-only-demo-shopify-app-secret
DEMO_WOOCOMMERCE_SECRET ?= local-only-demo-woocommerce-secret
DEMO_LOYALTY_API_KEY ?= local-only-demo-loyalty-api-key
EVENT    ?= order-placed
CUSTOMER ?= cus-8812
ARCH     ?= arm64
# The one place the architecture reaches SAM: `sam build` picks the bootstraps' target from the
# template's Architecture parameter, so it must get the same value as `sam deploy` (else x86_64
# functions receive arm64 bootstraps). tests/template.rs checks that both recipes use this.
SAM_PARAMETERS := --parameter-overrides Architecture=$(ARCH)
EXAMPLES := shared/contracts/examples
LOCAL_ENV := AWS_ENDPOINT_URL=http://127.0.0.1:$(LOCAL_AWS_PORT) AWS_REGION=eu-west-1 \
             AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local TABLE_NAME=trouw-local

.PHONY: help venv dev test test-rust test-moto test-contract chaos fuzz measure-local load bench browser-deps lint build sam-build deploy deploy-guided deploy-check smoke post post-shopify post-woocommerce emails preview customer shop codes end-sessions recount demo-months clean

help:
	@echo "make dev        run trouw locally (moto + the HTTP API on 127.0.0.1:$(PORT)); Ctrl-C stops it"
	@echo "make test       install what is needed, then run every test and lint"
	@echo "make test-contract  schemathesis against the OpenAPI file and the local stack (alone)"
	@echo "make measure-local  time webhooks against a local table of ITEMS items (default 100000)"
	@echo "make chaos      a year of CUSTOMERS customers (default 200) without and with 20% faults, compared"
	@echo "make bench      DynamoDB units, cost per million, cold starts and CPU per event (target/bench/)"
	@echo "make fuzz       every fuzz target for FUZZ_SECONDS each (default 60; nightly, cargo-fuzz)"
	@echo "make load       CUSTOMERS (1000) x 4 events at CONCURRENCY (32), DUPLICATES (0.05) sent twice; checked"
	@echo "make post       sign and post an example event to the local API (EVENT=order-placed)"
	@echo "make customer   show a customer's stored state locally (CUSTOMER=cus-8812)"
	@echo "make demo-months  with make dev running: live a new customer's first months in seconds"
	@echo "make emails     list the emails the local SES (moto) received (TO=address to filter)"
	@echo "make preview    render every email template in every locale to preview/ (open preview/index.html)"
	@echo "make shop       add or update a shop from FILE=shop.json (TABLE_NAME and AWS creds for the cloud)"
	@echo "make codes REWARD=r5 FILE=codes.csv  add discount codes to a reward's pool (SHOP=demo; LOYALTY_API_URL, LOYALTY_API_KEY for the cloud)"
	@echo "make end-sessions MARKETER=...  end every session of a marketer (after a password reset; TABLE_NAME)"
	@echo "make recount SHOP=... DAY=...  after CounterFailureQueueAlarm: count DAY and the 30 days before from the log (DAYS=31; TABLE_NAME)"
	@echo "make build      cargo lambda build --release (ARCH=arm64|x86_64)"
	@echo "make sam-build  sam build from infra/ (ARCH=arm64|x86_64)"
	@echo "make deploy     sam build && sam deploy from infra/ (ARCH=arm64|x86_64, the same for both)"
	@echo "make deploy-guided  the first deploy: the same build, then sam deploy --guided"
	@echo "make deploy-check  sam build for x86_64, then run every built function locally (slow)"
	@echo "make smoke URL=... SHOP=...  after a deploy: one signed event to the API, its customer read back"

# The project's Python tools (moto, cfn-lint, sam, cargo-lambda), pinned, rebuilt when the pins change.
$(VENV_STAMP): infra/local/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r infra/local/requirements.txt
	touch $@

venv: $(VENV_STAMP)

dev: $(VENV_STAMP)
	cargo build --bin trouw-dev
	PORT=$(PORT) LOCAL_AWS_PORT=$(LOCAL_AWS_PORT) DEMO_WEBHOOK_SECRET=$(DEMO_WEBHOOK_SECRET) \
	  DEMO_SHOPIFY_SECRET=$(DEMO_SHOPIFY_SECRET) DEMO_WOOCOMMERCE_SECRET=$(DEMO_WOOCOMMERCE_SECRET) \
	  TABLE_NAME=trouw-local ./target/debug/trouw-dev

test: $(VENV_STAMP) lint browser-deps test-moto test-rust test-contract

# The browser test's tools: Debian's Chromium and playwright-core (pinned in package-lock.json).
BROWSER_STAMP := infra/local/browser/node_modules/.installed
browser-deps: $(BROWSER_STAMP)
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y --no-install-recommends chromium \
	  || { $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium; }; }

$(BROWSER_STAMP): infra/local/browser/package-lock.json
	npm ci --prefix infra/local/browser --no-audit --no-fund
	touch $@

# One moto for the whole suite; every test makes its own table and shop in it. moto records
# each (function, action) its IAM check allowed in IAM_USED; after the suite, every action the
# template grants must have been used (check_iam_used.py: least privilege).
IAM_USED := $(CURDIR)/target/iam-used.tsv
IAM_CHECK := $(PY) infra/local/check_iam_used.py $(IAM_USED)
test-rust: $(VENV_STAMP)
	@mkdir -p target && rm -f $(IAM_USED)
	@if cargo nextest --version >/dev/null 2>&1; then \
	  cargo nextest run --workspace --no-run && \
	  TROUW_IAM_USED_FILE=$(IAM_USED) infra/local/with-moto.sh sh -c 'cargo nextest run --workspace && $(IAM_CHECK)'; \
	else \
	  cargo test --workspace --no-run && \
	  TROUW_IAM_USED_FILE=$(IAM_USED) infra/local/with-moto.sh sh -c 'cargo test --workspace && $(IAM_CHECK)'; \
	fi

# The OpenAPI contract, tested by schemathesis against the local stack (trouw-dev with its own
# moto on free ports): every operation, valid and invalid input, all checks, stateful runs, and
# GETs that must change nothing (infra/local/schemathesis_hooks.py). CONTRACT_EXAMPLES cases per
# operation and phase (default 30), CONTRACT_SEED to replay a run. About 2 minutes.
test-contract: $(VENV_STAMP)
	cargo build --workspace --bins
	infra/local/contract-test.sh

# The project's patches to moto (infra/local/moto_fast.py) against moto's own answers, and the
# local IAM check and least-privilege checker (moto_iam.py, check_iam_used.py).
test-moto: $(VENV_STAMP)
	$(PY) -m unittest discover -s infra/local -p 'test_*.py'

# Faults at 20%, the same outcome as at 0% (README, "Reliability under bad items"): a year of
# CUSTOMERS customers twice, compared; `make test` runs the same test with 40.
CUSTOMERS ?= 200
chaos: $(VENV_STAMP)
	cargo nextest run --workspace --no-run
	set -o pipefail; TROUW_CHAOS_CUSTOMERS=$(CUSTOMERS) infra/local/with-moto.sh \
	  cargo nextest run --workspace --profile chaos --test chaos --no-capture 2>&1 | grep -v '^{'

# The fuzz targets (fuzz/, README "Fuzzing"): each for FUZZ_SECONDS, FUZZ_TARGETS to pick some.
# Built on nightly with sanitizers in fuzz/target; installs cargo-fuzz when missing.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh $(FUZZ_TARGETS)

# The local stack's speed as the table grows (README, "Local performance"): seeds ITEMS items,
# then times single order webhooks and EVENTS of them at CONCURRENCY. About 5 minutes.
ITEMS ?= 100000
EVENTS ?= 1000
CONCURRENCY ?= 16
measure-local: $(VENV_STAMP)
	cargo build --workspace --bins
	$(PY) infra/local/measure_local.py --items $(ITEMS) --events $(EVENTS) --concurrency $(CONCURRENCY)

# Load on one machine (README, "Local performance"): CUSTOMERS customers x 4 events sent at
# CONCURRENCY, DUPLICATES of them twice at once; throughput, latency, where the time goes, then
# every customer's state and the emails against a calm replay. Loopback only, stops by itself;
# the table is in target/load/. CUSTOMERS and CONCURRENCY default to 1000 and 32 here (the
# values above are chaos's and measure-local's). 8 to 10 minutes.
DUPLICATES ?= 0.05
LOAD_CUSTOMERS = $(if $(filter file,$(origin CUSTOMERS)),1000,$(CUSTOMERS))
LOAD_CONCURRENCY = $(if $(filter file,$(origin CONCURRENCY)),32,$(CONCURRENCY))
load: $(VENV_STAMP)
	cargo build --workspace --bins
	$(PY) infra/local/load_test.py --customers $(LOAD_CUSTOMERS) \
	  --concurrency $(LOAD_CONCURRENCY) --duplicates $(DUPLICATES)

# The Lambda functions' binaries, one per function of infra/template.yaml (a unit test in
# infra/local/src/functions.rs keeps this list and the template's functions the same).
FUNCTIONS := order-placed order-delivered order-returned address-changed product-changed send-messages count-days \
  customer-links run-schedule ses-events message-log loyalty-api

# Cost and speed (README, "Cost and speed"): the release bootstraps and a hello-world baseline
# (cargo lambda, this machine's architecture; LTO makes the first build slow), CPU per event
# with criterion in the same release profile, then the DynamoDB table and the cold starts
# against moto. Writes target/bench/bench.md and bench.json. BENCH_CUSTOMERS sets the
# schedule pass's table sizes (default 1000,10000,100000), BENCH_STARTS the starts per bootstrap.
BENCH_TARGET := $(CURDIR)/target/bench-release
BENCH_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),--arm64,--x86-64)
bench: $(VENV_STAMP)
	CARGO_TARGET_DIR=$(BENCH_TARGET) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release $(BENCH_ARCH) \
	  $(addprefix --bin ,$(FUNCTIONS)) --bin hello-lambda
	set -o pipefail; CARGO_TARGET_DIR=$(BENCH_TARGET) cargo bench --workspace --bench cpu -- --noplot 2>&1 | tee target/bench-cpu.txt
	cargo build --workspace --bins
	BENCH_LAMBDA_DIR=$(BENCH_TARGET)/lambda infra/local/with-moto.sh ./target/debug/trouw-bench
	@mkdir -p target/bench && grep -E '^[^ ].*|time: ' target/bench-cpu.txt | grep -B1 'time:' > target/bench/cpu.txt || true
	@cat target/bench/cpu.txt

lint: $(VENV_STAMP)
	$(VENV)/bin/cfn-lint infra/template.yaml
	cd infra && SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=eu-west-1 ../$(VENV)/bin/sam validate --lint --template-file template.yaml
	$(PY) infra/local/check_openapi.py shared/contracts/openapi.yaml
	@# Formatting, where the toolchain has rustfmt (rustup's default profile does).
	@if cargo fmt --version >/dev/null 2>&1; then cargo fmt --all --check; \
	  else echo "rustfmt is not installed: formatting not checked"; fi

build: $(VENV_STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release $(if $(filter arm64,$(ARCH)),--arm64,--x86-64) \
	  $(addprefix --bin ,$(FUNCTIONS))

sam-build: $(VENV_STAMP)
	cd infra && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 sam build $(SAM_PARAMETERS)

# The deploy path without deploying: `sam build` for x86_64 (the architecture this machine can
# build), then every function's bootstrap under a local Lambda Runtime API against moto, with the
# template's configuration and one realistic event each (see README, "Check a build locally").
deploy-check: $(VENV_STAMP)
	$(MAKE) --no-print-directory sam-build ARCH=x86_64
	cargo run -q --bin trouw-deploy-check -- infra/.aws-sam/build x86_64

# After a deploy: one signed order-placed event to the deployed API, its customer read back.
# make smoke URL=<ApiUrl output> SHOP=de-winkel WEBHOOK_SECRET=whsec_... TABLE_NAME=<TableName output>
smoke:
	@test -n "$(URL)" -a -n "$(SHOP)" || { echo "usage: make smoke URL=https://....execute-api.<region>.amazonaws.com/ SHOP=<shop id> (WEBHOOK_SECRET, TABLE_NAME, AWS credentials)"; exit 2; }
	cargo run -q --bin trouw-admin -- smoke '$(URL)' '$(SHOP)'

deploy: sam-build
	cd infra && SAM_CLI_TELEMETRY=0 ../$(VENV)/bin/sam deploy $(SAM_PARAMETERS)

# The first deploy: the same build, then sam deploy's questions (see README, "Deploy").
deploy-guided: sam-build
	cd infra && SAM_CLI_TELEMETRY=0 ../$(VENV)/bin/sam deploy --guided $(SAM_PARAMETERS)

post:
	WEBHOOK_SECRET=$(DEMO_WEBHOOK_SECRET) cargo run -q --bin trouw-admin -- \
	  post $(EVENT) $(EXAMPLES)/$(EVENT).json http://127.0.0.1:$(PORT)/webhooks/demo/$(EVENT)

# make post-shopify ROUTE=order-placed TOPIC=orders/create FILE=tests/fixtures/shopify/orders-create.json
post-shopify:
	SHOPIFY_SECRET=$(DEMO_SHOPIFY_SECRET) SHOPIFY_DOMAIN=demo.myshopify.com cargo run -q --bin trouw-admin -- \
	  post-shopify $(ROUTE) $(TOPIC) $(FILE) http://127.0.0.1:$(PORT)/webhooks/demo/$(ROUTE)

# make post-woocommerce ROUTE=order-placed TOPIC=order.created FILE=tests/fixtures/woocommerce/order-created.json
post-woocommerce:
	WOOCOMMERCE_SECRET=$(DEMO_WOOCOMMERCE_SECRET) cargo run -q --bin trouw-admin -- \
	  post-woocommerce $(ROUTE) $(TOPIC) $(FILE) http://127.0.0.1:$(PORT)/webhooks/demo/$(ROUTE)

# The emails moto's SES received (make dev must be running).
emails:
	$(LOCAL_ENV) cargo run -q --bin trouw-admin -- emails $(TO)

# Every template in every locale, rendered with sample data: open preview/index.html.
preview:
	cargo run -q --bin trouw-admin -- preview preview

customer:
	$(LOCAL_ENV) cargo run -q --bin trouw-admin -- customer demo $(CUSTOMER)

# With `make dev` running: a new customer's first months through /dev/clock and /dev/run-schedule.
demo-months:
	$(LOCAL_ENV) WEBHOOK_SECRET=$(DEMO_WEBHOOK_SECRET) cargo run -q --bin trouw-admin -- \
	  demo-months http://127.0.0.1:$(PORT)

shop:
	@test -n "$(FILE)" || { echo "usage: make shop FILE=shop.json [TABLE_NAME=...]"; exit 2; }
	cargo run -q --bin trouw-admin -- put-shop $(FILE)

# make codes REWARD=r5 FILE=codes.csv (one code per line, or a Shopify/WooCommerce CSV export;
# FILE=- or none: stdin). Locally the demo shop through `make dev`; against a deployed stack
# SHOP=de-winkel LOYALTY_API_URL=<ApiUrl output> LOYALTY_API_KEY=<the shop's loyalty API key>.
codes:
	@test -n "$(REWARD)" || { echo "usage: make codes REWARD=r5 FILE=codes.csv [SHOP=demo] [LOYALTY_API_URL=... LOYALTY_API_KEY=...]"; exit 2; }
	LOYALTY_API_URL=$${LOYALTY_API_URL:-http://127.0.0.1:$(PORT)} LOYALTY_API_KEY=$${LOYALTY_API_KEY:-$(DEMO_LOYALTY_API_KEY)} \
	  cargo run -q --bin trouw-admin -- codes $(or $(SHOP),demo) $(REWARD) $(or $(FILE),-)

end-sessions:
	@test -n "$(MARKETER)" || { echo "usage: make end-sessions MARKETER=anna@dewinkel.nl [TABLE_NAME=...]"; exit 2; }
	cargo run -q --bin trouw-admin -- end-sessions '$(MARKETER)'

recount:
	@test -n "$(SHOP)" -a -n "$(DAY)" || { echo "usage: make recount SHOP=de-winkel DAY=2026-11-30 [DAYS=31] [TABLE_NAME=...]"; exit 2; }
	cargo run -q --bin trouw-admin -- recount '$(SHOP)' '$(DAY)' $(if $(DAYS),'$(DAYS)')

clean:
	cargo clean
	rm -rf $(VENV) infra/.aws-sam
