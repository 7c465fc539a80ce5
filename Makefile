# The README tells a person which of these to run; each target is one to three commands.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CATALOG ?= ../shared/datasets/clothing-small
FASHION_MNIST := /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
CHROMEDRIVER := /usr/bin/chromedriver
STAMP := $(VENV)/.installed
COMPOSE ?= docker compose

.PHONY: install test lint format demo train-fashion-mnist train-catalog train-text train-pair-scorer evaluate bench-text-search ablation bench-embed bench-colour bench-rerank bench-rerank-api bench-promotion bench-mine bench-stores bench-store-sizes bench-ingest \
	jvm-deps stack-up stack-down stack-status cluster-up cluster-down topology-submit index-catalog serve bench-query \
	up down logs ps clean

install: $(STAMP) $(FASHION_MNIST) $(CHROMEDRIVER)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/uv || ($(PYTHON) -m venv $(VENV) && $(BIN)/pip install -q uv==0.13.8)
	$(BIN)/uv pip install -q -p $(BIN)/python -c constraints.txt -e '.[dev]'
	touch $@

$(FASHION_MNIST):
	scripts/install-fashion-mnist.sh

$(CHROMEDRIVER):  ## headless Chromium for the web page's browser test
	scripts/install-chromium.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/pytest -q

demo: install  ## stack, topology, catalog streamed in; then the API and page on http://127.0.0.1:8000 until Ctrl-C
	$(BIN)/cbir demo --model models/catalog.pt --catalog $(CATALOG)/train --queries $(CATALOG)/test
	$(BIN)/cbir api serve --model models/catalog.pt --text-encoder models/text-encoder.pt --pair-scorer models/pair-scorer.json --photo-dir $(CATALOG)/train

train-fashion-mnist: install
	$(BIN)/cbir train fashion-mnist --out models/fashion-mnist.pt

train-catalog: install
	$(BIN)/cbir train catalog --data $(CATALOG)/train --out models/catalog.pt

train-pair-scorer: install  ## the learned re-ranker, for models/catalog.pt (pairs from the train split)
	$(BIN)/cbir train-pair-scorer --model models/catalog.pt --data $(CATALOG)/train --out models/pair-scorer.json

train-text: install  ## the text encoder of text-only search, into models/catalog.pt's image space
	$(BIN)/cbir train-text --model models/catalog.pt --data $(CATALOG)/train --out models/text-encoder.pt --epochs 30

bench-text-search: install  ## text -> image R@1/R@10/mAP with words in no title: BM25 vs embedding vs fused
	$(BIN)/python -m bench.text_search --model models/catalog.pt --text-encoder models/text-encoder.pt --catalog $(CATALOG)

evaluate: install
	$(BIN)/cbir evaluate --model fashion-mnist=models/fashion-mnist.pt --model catalog=models/catalog.pt \
		--catalog $(CATALOG) --out reports/embedder-eval.json --picture reports/embedding-space.png

ablation: install
	$(BIN)/python -m bench.ablation --catalog $(CATALOG) --epochs 6 --out reports/ablation.json

bench-colour: install  ## the derived garment colour against colours labelled by eye (reports/colour-labels.csv)
	$(BIN)/python -m bench.colour --catalog $(CATALOG)

bench-rerank: install  ## re-ranking R@1/R@5/MRR on the shopper-photo protocol
	$(BIN)/python -m bench.rerank --model models/catalog.pt --catalog $(CATALOG)

bench-rerank-api: install  ## needs `make stack-up`; the same protocol through POST /v1/search, per re-ranker
	$(BIN)/python -m bench.rerank_api --model models/catalog.pt --catalog $(CATALOG)

bench-mine: install  ## new-category mining: purity, coverage, time at 100k
	$(BIN)/python -m bench.mine --model models/catalog.pt --catalog $(CATALOG)/train

bench-embed: install
	$(BIN)/python -m bench.embed --model models/catalog.pt --catalog $(CATALOG)/test

bench-ingest: install  ## starts its own stack and topology; N=2000 by default (IMAGES=500 for a quick run)
	$(BIN)/python -m bench.ingest --model models/catalog.pt --catalog $(CATALOG) --images $(or $(IMAGES),2000)

jvm-deps: install  ## the pinned Kafka, Solr and Storm jars into deploy/cache/ (skipped when current)
	$(BIN)/cbir stack deps

stack-up: install  ## Kafka, Solr and Milvus on 127.0.0.1, health-checked
	$(BIN)/cbir stack up

stack-down:  ## stop exactly the processes stack-up started
	$(BIN)/cbir stack down

stack-status:
	$(BIN)/cbir stack status

cluster-up: install  ## ZooKeeper, Nimbus, 2 Supervisors, 3 Kafka brokers, Solr, Milvus on 127.0.0.1
	$(BIN)/cbir stack up --cluster

cluster-down:  ## stop the cluster's processes, and the workers its supervisors started
	$(BIN)/cbir stack down

topology-submit: install  ## needs `make cluster-up`; the ingest topology on the cluster (2 workers)
	$(BIN)/cbir topology submit --model models/catalog.pt

index-catalog: install  ## needs `make stack-up`; the clothing catalog into Milvus and Solr (idempotent)
	$(BIN)/cbir index-folder $(CATALOG)/train --model models/catalog.pt

serve: install  ## needs `make stack-up` (and `make index-catalog`): the API and page on http://127.0.0.1:8000
	$(BIN)/cbir api serve --model models/catalog.pt --text-encoder models/text-encoder.pt --pair-scorer models/pair-scorer.json --photo-dir $(CATALOG)/train

bench-query: install  ## needs `make stack-up`; POST /v1/search latency at 10k and 100k items, 1/4/16 clients
	$(BIN)/python -m bench.query --model models/catalog.pt --queries $(CATALOG)/test --sizes 10000,100000

bench-promotion: install  ## needs `make stack-up`; `make bench-promotion NEW=FILE.pt`: promote NEW while clients search
	$(BIN)/python -m bench.promotion --model models/catalog.pt --new $(NEW) --catalog $(CATALOG)/train

bench-stores: install  ## needs `make stack-up`
	$(BIN)/python -m bench.stores --sizes 10000,100000

bench-store-sizes: install  ## needs `make stack-up`: Solr and photo-store bytes per item, Kafka bytes per photo
	$(BIN)/python -m bench.store_sizes --model models/catalog.pt --catalog $(CATALOG)/train

.PHONY: up down logs ps
up:  ## docker-compose (needs a Docker engine and .env, see docs/operations.md): build, then start everything
	test -f .env || (echo "copy .env.example to .env and edit it first" >&2; exit 1)
	$(COMPOSE) up -d --build

down:  ## stop and remove the containers; the data volumes stay (`docker compose down -v` deletes them)
	$(COMPOSE) down

logs:
	$(COMPOSE) logs -f --tail=200

ps:
	$(COMPOSE) ps

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
