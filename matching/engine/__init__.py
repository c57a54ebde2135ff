"""Pure matching engine: stdlib, NumPy and SciPy only. Never import Django here."""
