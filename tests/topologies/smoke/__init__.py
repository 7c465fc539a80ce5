"""The smallest real topology (one Python spout, one Python bolt), proving that Storm runs our Python code.

Used by tests only: Storm workers import it with the repository root on PYTHONPATH.
"""
