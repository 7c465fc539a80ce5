from embedder.evaluation.metrics import retrieval_metrics

__all__ = ["retrieval_metrics"]
