"""The matching engine: pure Python + NumPy + SciPy, never Django.

``features`` turns profiles into arrays, ``scoring`` builds the score matrix and the
hard-rule mask, ``explain`` says why a pair fits, ``rank`` gives a mentee's top-k
mentors, ``assign`` computes the exact cohort assignment and its reports, and
``bench`` measures all of it (``python -m matching.engine.bench``).
"""

# Stored on every match run: bump it whenever scoring, feasibility or assignment
# changes what the same input produces, so old runs stay explainable.
ENGINE_VERSION = "1.1.0"  # 1.1: team participation covers mentees before places
