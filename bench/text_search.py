"""Text -> image search with words that are in no title: BM25 over the demo titles vs the learned text embedding
vs both fused by RRF (k=60), on the held-out split.

Usage: python -m bench.text_search --model models/catalog.pt --text-encoder models/text-encoder.pt \\
           --catalog ../shared/datasets/clothing-small
The gallery is the test photos (never seen by either model), each with the demo title `indexer.sample_catalog`
gives it ("Kestrel black denim pants"; the colour seen in the photo). BM25 is an in-process Okapi BM25 (k1 1.2,
b 0.75, Lucene's idf, words as `embedder.text_encoder.words` splits them) over those titles, standing in for
Solr's (rank-bm25 is not installed); a title without any query word is not returned, as Solr would not. The
embedding ranks every photo by cosine with the query's text embedding. Fused: `api.fusion.reciprocal_rank_fusion`.
Query sets (every query word is checked to be in no title):
- synonyms: the description words of each category (`embedder.descriptions`) that share no word with a title
  ("frock", "sneakers", "jeans", "tee", "top for summer"); relevant: the test photos of that category;
- colour + synonym: "<colour> <synonym>" for each colour seen on at least 2 test photos of the category;
  relevant: photos of that category whose derived colour is that colour (BM25 can match the colour word);
- unseen synonyms: words in no title and in no training description ("gown", "slacks", "sneaker").
Writes reports/bench-text-search.json and reports/bench-text-search.md.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from pathlib import Path

import numpy as np

from api.fusion import reciprocal_rank_fusion
from bench.report_file import write_report
from embedder import Embedder
from embedder.colour import PALETTE
from embedder.data.image_folder import list_image_folder
from embedder.descriptions import DESCRIPTION_WORDS, UNSEEN_SYNONYMS
from embedder.evaluation.metrics import ranking_metrics
from embedder.text_encoder import TextEmbedder, words
from indexer.sample_catalog import SAMPLE_BRANDS, SAMPLE_MATERIALS, UNKNOWN_COLOUR, sample_item_fields

METHODS = ("bm25", "embedding", "fused")


def title_vocabulary(categories: list[str]) -> set[str]:
    """Every word a demo title can hold: brand, colour, material, category."""
    parts = [*SAMPLE_BRANDS, *PALETTE, UNKNOWN_COLOUR, *SAMPLE_MATERIALS, *categories]
    return {word for part in parts for word in words(part)}


def bm25_ranking(query: str, titles: list[list[str]], k1: float = 1.2, b: float = 0.75) -> list[int]:
    """Indices of the titles holding a query word, best Okapi BM25 score first (ties: lower index first)."""
    n, average = len(titles), sum(map(len, titles)) / len(titles)
    frequency = Counter(word for title in titles for word in set(title))
    scores = np.zeros(n)
    for word in set(words(query)):
        idf = math.log(1 + (n - frequency[word] + 0.5) / (frequency[word] + 0.5))
        for i, title in enumerate(titles):
            tf = title.count(word)
            scores[i] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(title) / average)) if tf else 0.0
    return [int(i) for i in np.argsort(-scores, kind="stable") if scores[i] > 0]


def rankings(query: str, vector: np.ndarray, gallery: np.ndarray, titles: list[list[str]], k: float) -> dict:
    """The three rankings of one query, as lists of gallery indices, best first."""
    cosine = gallery @ vector  # (N,)
    embedding = [int(i) for i in np.argsort(-cosine, kind="stable")]
    bm25 = bm25_ranking(query, titles)
    fused = reciprocal_rank_fusion([(str(i), float(cosine[i])) for i in embedding], [str(i) for i in bm25], k=k)
    return {"bm25": bm25, "embedding": embedding, "fused": [int(hit.id) for hit in fused]}


def query_sets(categories: list[str], colours: list[str], vocabulary: set[str]) -> dict[str, list[tuple]]:
    """{set name: [(query, relevant mask)]}; every query word is checked against the title vocabulary."""
    category, colour = np.array(categories), np.array(colours)
    novel = {name: [w for w in DESCRIPTION_WORDS[name] if not set(words(w)) & vocabulary] for name in DESCRIPTION_WORDS}
    sets: dict[str, list[tuple]] = {
        "synonyms": [(w, category == name) for name, ws in novel.items() for w in ws],
        "colour + synonym": [
            (f"{c} {w}", (category == name) & (colour == c))
            for name, ws in novel.items()
            for w in ws[:2]
            for c in PALETTE
            if ((category == name) & (colour == c)).sum() >= 2
        ],
        "unseen synonyms": [(w, category == name) for name, ws in UNSEEN_SYNONYMS.items() for w in ws],
    }
    trained = {word for ws in DESCRIPTION_WORDS.values() for w in ws for word in words(w)}
    for name, queries in sets.items():
        for query, _ in queries:
            leaked = set(words(query)) & vocabulary - set(PALETTE if name == "colour + synonym" else ())
            if leaked or (name == "unseen synonyms" and set(words(query)) & trained):
                raise ValueError(f"query {query!r} holds title or training words")
    return sets


def measure(
    sets: dict[str, list[tuple]], text: TextEmbedder, gallery: np.ndarray, titles: list[list[str]], k: float
) -> tuple[dict, dict]:
    """{set: {method: {R@1, R@10, mAP}}} and {set: {query: {method: R@1 ...}}}."""
    summary: dict[str, dict] = {}
    per_query: dict[str, dict] = {}
    for name, queries in sets.items():
        vectors = text.embed([query for query, _ in queries])  # (Q, D)
        ranked = [rankings(q, v, gallery, titles, k) for (q, _), v in zip(queries, vectors, strict=True)]
        n_relevant = [int(relevant.sum()) for _, relevant in queries]
        summary[name] = {"queries": len(queries)}
        per_query[name] = {query: {} for query, _ in queries}
        for method in METHODS:
            hits = [relevant[r[method]] for (_, relevant), r in zip(queries, ranked, strict=True)]
            summary[name][method] = ranking_metrics(hits, n_relevant)
            for (query, _), row, total in zip(queries, hits, n_relevant, strict=True):
                per_query[name][query][method] = ranking_metrics([row], [total])
    return summary, per_query


def markdown(report: dict) -> str:
    """The short human-readable summary of the JSON report."""
    lines = [
        "# Text -> image search with words in no title (`bench/text_search.py`)",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Gallery: {report['gallery']} held-out test photos; text encoder {report['text_encoder']} "
        f"(trained for image model {report['image_model']}); BM25: {report['bm25']}; RRF k={report['rrf_k']}.",
        "",
        "| query set | queries | method | R@1 | R@10 | mAP |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in report["summary"].items():
        for method in METHODS:
            m = result[method]
            lines.append(
                f"| {name} | {result['queries']} | {method} | {m['R@1']:.3f} | {m['R@10']:.3f} | {m['mAP']:.3f} |"
            )
    lines += ["", "Query sets and relevance: see the script's docstring; per-query numbers are in the JSON."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/catalog.pt"))
    parser.add_argument("--text-encoder", type=Path, default=Path("models/text-encoder.pt"))
    parser.add_argument("--catalog", type=Path, default=Path("../shared/datasets/clothing-small"))
    parser.add_argument("--rrf-k", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=Path("reports/bench-text-search.json"))
    args = parser.parse_args()

    embedder, text = Embedder.load(args.model, threads=2), TextEmbedder.load(args.text_encoder)
    if text.image_model != embedder.version:
        raise SystemExit(f"the text encoder was trained for image model {text.image_model}, not {embedder.version}")
    paths, labels, class_names = list_image_folder(args.catalog / "test")
    photos = [path.read_bytes() for path in paths]
    categories = [class_names[label] for label in labels]
    items = [sample_item_fields(photo, category) for photo, category in zip(photos, categories, strict=True)]
    titles = [words(item["title"]) for item in items]
    vocabulary = title_vocabulary(class_names)
    assert all(set(title) <= vocabulary for title in titles), "a demo title holds a word title_vocabulary misses"
    sets = query_sets(categories, [item["colour"] for item in items], vocabulary)
    summary, per_query = measure(sets, text, embedder.embed(photos), titles, args.rrf_k)
    report = {
        "command": "python -m bench.text_search "
        + f"--model {args.model} --text-encoder {args.text_encoder} --catalog {args.catalog}",
        "gallery": len(photos),
        "image_model": embedder.version,
        "text_encoder": text.version,
        "bm25": "in-process Okapi BM25 (k1 1.2, b 0.75, Lucene idf) over the demo titles",
        "rrf_k": args.rrf_k,
        "summary": summary,
        "per_query": per_query,
    }
    write_report(args.out, report)
    args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
