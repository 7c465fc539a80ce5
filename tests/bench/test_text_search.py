"""The text-search bench's in-process BM25 and its guard against query words that a title holds."""

import numpy as np
import pytest

from bench.text_search import bm25_ranking, query_sets, title_vocabulary
from embedder.text_encoder import words


def test_bm25_ranks_by_hand() -> None:
    titles = [words(t) for t in ["Lumen black denim pants", "Vireo blue wool dress", "Lumen blue blue linen dress"]]
    # "blue dress": title 2 holds "blue" twice, title 1 once; a title without a query word is not returned.
    assert bm25_ranking("blue dress", titles) == [2, 1]
    assert bm25_ranking("frock", titles) == []
    # A rarer word weighs more: "black" (1 title) beats "blue" (2 titles).
    assert bm25_ranking("black blue", titles)[0] == 0


def test_synonym_queries_hold_no_title_word() -> None:
    vocabulary = title_vocabulary(["dress", "t-shirt", "shoes"])
    assert {"t", "shirt", "denim", "kestrel", "black"} <= vocabulary
    sets = query_sets(["dress", "shoes"], ["black", "black"], vocabulary)
    synonyms = [query for query, _ in sets["synonyms"]]
    assert "frock" in synonyms and "sneakers" in synonyms and "top for summer" in synonyms
    assert "button-down shirt" not in synonyms  # "shirt" is a title word
    for queries in sets.values():
        for query, relevant in queries:
            assert not set(words(query)) & vocabulary - {"black"}, query
            assert isinstance(relevant, np.ndarray)


def test_a_leaking_query_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.text_search as bench

    monkeypatch.setitem(bench.UNSEEN_SYNONYMS, "dress", ("sundress",))  # a training description word
    with pytest.raises(ValueError, match="sundress"):
        query_sets(["dress"], ["black"], title_vocabulary(["dress"]))
