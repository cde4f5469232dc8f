"""The steps of examples/pipeline.yaml: a matrix of sums, then their total.

A worker finds them with PYTHONPATH=examples/python (run from the repository's root); each is
called as `function(**parameters)`, and the dict it returns is the work's results.
"""


def add(a, b):
    """One combination of the matrix."""
    return {"sum": a + b}


def total(sums, scale=1):
    """Every sum of the step it needs, in matrix order, scaled."""
    return {"total": sum(sums) * scale, "count": len(sums)}
