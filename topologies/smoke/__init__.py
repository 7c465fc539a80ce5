"""The smallest real topology (one Python spout, one Python bolt), proving that Storm runs our Python code."""
